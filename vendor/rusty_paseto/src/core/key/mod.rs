mod keys;
mod paseto_asymmetric_private_key;
mod paseto_asymmetric_public_key;
mod paseto_nonce;
mod paseto_symmetric_key;
mod paseto_nonce_impl;

pub use keys::Key;
pub use paseto_asymmetric_private_key::PasetoAsymmetricPrivateKey;
// Re-export for public API - used by library consumers, not internally
#[cfg(any(
  feature = "v1_public_insecure",
  feature = "v2_public",
  feature = "v3_public",
  feature = "v4_public"
))]
#[allow(unused_imports)]
pub use paseto_asymmetric_private_key::PasetoAsymmetricPrivateKeyOwned;
pub use paseto_asymmetric_public_key::PasetoAsymmetricPublicKey;
pub use paseto_nonce::PasetoNonce;
pub use paseto_symmetric_key::PasetoSymmetricKey;
