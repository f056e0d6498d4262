//! Malformed bodies of every kind, sent as raw bytes the way a broken or hostile client would:
//! each is INVALID_ARGUMENT naming the field (or `body`) with a `google.rpc.BadRequest` detail,
//! never INTERNAL or OUT_OF_RANGE with a decoder dump, and the server keeps serving.

use prost::bytes::{Buf as _, BufMut as _};
use prost::Message as _;
use tollgate::grpc::pb::{self, Effect};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Code, Status,
};
use tonic_types::StatusExt as _;

use crate::common::{request, start, write_probe_bundle};

/// Sends a body as given; reads whatever comes back as bytes.
#[derive(Clone, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let out = src.chunk().to_vec();
        src.advance(out.len());
        Ok(Some(out))
    }
}

async fn send(channel: tonic::transport::Channel, body: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/tollgate.v1.Authorizer/Authorize");
    grpc.unary(tonic::Request::new(body), path, Raw)
        .await
        .map(tonic::Response::into_inner)
}

/// A protobuf field: (tag << 3 | wire type 2), length, bytes.
fn field(tag: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_key(tag, prost::encoding::WireType::LengthDelimited, &mut out);
    prost::encoding::encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

fn bad_request(status: &Status) -> (String, String) {
    let details = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest detail: {status:?}"));
    let v = &details.field_violations[0];
    (v.field.clone(), v.description.clone())
}

#[tokio::test]
async fn malformed_bodies_are_invalid_argument_naming_the_field() {
    let server = start(
        |b| write_probe_bundle(b, "v1", true),
        |c| c.max_message_bytes = 64 * 1024,
    )
    .await;
    let channel = server.channel.clone();

    // Invalid UTF-8 in subject.id (AuthorizeRequest.subject = 1, Subject.id = 1).
    let body = field(1, &field(1, &[0xff, 0xfe, b'a']));
    let status = send(channel.clone(), body).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(status.message(), "subject.id: is not valid UTF-8");
    assert_eq!(bad_request(&status).0, "subject.id");

    // Nesting past the decoder's recursion limit in action.params.
    let mut value = pb::AuthorizeRequest::default();
    let mut nested = prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue("leaf".into())),
    };
    for _ in 0..120 {
        let mut list = prost_types::ListValue::default();
        list.values.push(nested);
        nested = prost_types::Value {
            kind: Some(prost_types::value::Kind::ListValue(list)),
        };
    }
    let mut params = prost_types::Struct::default();
    params.fields.insert("deep".into(), nested);
    value.action = Some(pb::Action {
        name: "probe.run".into(),
        params: Some(params),
    });
    let status = send(channel.clone(), value.encode_to_vec())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("action.params"), "{status:?}");
    assert!(status.message().contains("nested too deeply"), "{status:?}");

    // Oversize: over max_message_bytes.
    let status = send(
        channel.clone(),
        field(1, &field(1, &vec![b'a'; 100 * 1024])),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with("body: message too large"),
        "{status:?}"
    );
    assert_eq!(bad_request(&status).0, "body");

    // Not protobuf at all: a truncated length-delimited field.
    let status = send(channel.clone(), vec![0x0a, 0x7f, b'x'])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        !status.message().contains("failed to decode Protobuf"),
        "{status:?}"
    );

    // The server still answers a good request.
    let ok = server
        .authorizer()
        .authorize(request("probe.run", "probe"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.effect(), Effect::Allow);
    server.stop().await;
}
