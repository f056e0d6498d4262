//! Precise errors for bodies that never reach a handler. tonic answers a message over the size
//! limit with OUT_OF_RANGE, and prost's decode failures (invalid UTF-8 in a string, nesting
//! past the recursion limit, a truncated or malformed body, a bad compression flag) with
//! INTERNAL and the decoder's text. A client sent those, so they are INVALID_ARGUMENT naming
//! the field (or `body`) with a `google.rpc.BadRequest` detail, like every other bad input.
//! Everything else passes untouched.

use tonic::{codegen::http, Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// Rewrites `response` when it carries a decoder's error (trailers-only, so in the headers).
pub fn precise<B: Default>(response: http::Response<B>) -> http::Response<B> {
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    match rewrite(&status) {
        Some(better) => better.into_http(),
        None => response,
    }
}

/// The INVALID_ARGUMENT a decoder's status stands for, if it is one.
fn rewrite(status: &Status) -> Option<Status> {
    let message = status.message();
    let (field, what) = match status.code() {
        Code::OutOfRange if message.starts_with("Error, decoded message length too large") => {
            let detail = message.split_once(": ").map_or(message, |(_, rest)| rest);
            (
                "body".to_string(),
                format!("message too large ({detail}); see max_message_bytes"),
            )
        }
        Code::Internal => {
            if let Some(rest) = message.strip_prefix("failed to decode Protobuf message: ") {
                decode_failure(rest)
            } else if message
                .starts_with("protocol error: received message with invalid compression flag")
                || message.contains("Unexpected EOF")
                || message.starts_with("Error, message length too large")
            {
                ("body".to_string(), format!("not a gRPC message: {message}"))
            } else {
                return None;
            }
        }
        _ => return None,
    };
    let text = format!("{field}: {what}");
    Some(Status::with_error_details(
        Code::InvalidArgument,
        text,
        ErrorDetails::with_bad_request_violation(field, what),
    ))
}

/// prost's `Inner.field: Message.field: description` (innermost first) as
/// (`field.field`, description).
fn decode_failure(rest: &str) -> (String, String) {
    let parts: Vec<&str> = rest.split(": ").collect();
    // Path frames are `Message.field` (no spaces); the description is what follows them.
    let frames = parts
        .iter()
        .take_while(|p| p.contains('.') && !p.contains(char::is_whitespace))
        .count();
    let description = parts[frames..].join(": ");
    // prost lists the innermost frame first.
    let path: Vec<&str> = parts[..frames]
        .iter()
        .rev()
        .filter_map(|p| p.rsplit_once('.').map(|(_, field)| field))
        .collect();
    let field = if path.is_empty() {
        "body".to_string()
    } else {
        // Deep nesting repeats Struct/Value frames: name where it starts and say how deep.
        let shown: Vec<&str> = path.iter().take(4).copied().collect();
        let mut field = shown.join(".");
        if path.len() > shown.len() {
            field.push_str(".…");
        }
        field
    };
    let description = match description.as_str() {
        "recursion limit reached" => "nested too deeply (more than 100 levels)".to_string(),
        "invalid string value: data is not UTF-8 encoded" => "is not valid UTF-8".to_string(),
        other => format!("cannot be decoded: {other}"),
    };
    (field, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(code: Code, message: &str) -> Option<(Code, String)> {
        rewrite(&Status::new(code, message)).map(|s| (s.code(), s.message().to_string()))
    }

    #[test]
    fn decoder_errors_become_invalid_argument_naming_the_field() {
        assert_eq!(
            rewritten(Code::Internal, "failed to decode Protobuf message: Subject.id: AuthorizeRequest.subject: invalid string value: data is not UTF-8 encoded"),
            Some((Code::InvalidArgument, "subject.id: is not valid UTF-8".into()))
        );
        let (code, message) = rewritten(
            Code::OutOfRange,
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        )
        .unwrap();
        assert_eq!(code, Code::InvalidArgument);
        assert!(
            message.starts_with("body: message too large (found 5000000 bytes"),
            "{message}"
        );
        let (_, message) = rewritten(Code::Internal, "failed to decode Protobuf message: Value.kind: Struct.fields: Value.kind: Struct.fields: Action.params: AuthorizeRequest.action: recursion limit reached").unwrap();
        assert_eq!(
            message,
            "action.params.fields.kind.…: nested too deeply (more than 100 levels)"
        );
        assert_eq!(rewritten(Code::Internal, "the audit log failed"), None);
        assert_eq!(rewritten(Code::Unavailable, "store down"), None);
    }
}
