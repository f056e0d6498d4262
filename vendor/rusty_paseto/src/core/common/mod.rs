#![allow(unused)]
pub mod cipher_text;
mod encryption_key;
mod encryption_nonce;
mod tag;
mod raw_payload;
mod authentication_key;
mod authentication_key_separator;
mod encryption_key_separator;
mod pre_authentication_encoding;
mod hkdf_key;
mod encryption_key_impl;
mod tag_impl;
mod raw_payload_impl;
mod authentication_key_impl;
mod cipher_text_impl;

pub use encryption_key::EncryptionKey;
pub use raw_payload::RawPayload;
pub use pre_authentication_encoding::PreAuthenticationEncoding;
pub use cipher_text::CipherText;
pub use authentication_key::AuthenticationKey;
pub use authentication_key_separator::AuthenticationKeySeparator;
pub use encryption_key_separator::EncryptionKeySeparator;
pub use tag::Tag;
pub use hkdf_key::HkdfKey;
