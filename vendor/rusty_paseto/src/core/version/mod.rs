#[cfg(any(feature = "v1", doc))]
mod v1;
#[cfg(any(feature = "v2", doc))]
mod v2;
#[cfg(any(feature = "v3", doc))]
mod v3;
#[cfg(any(feature = "v4", doc))]
mod v4;

#[cfg(any(feature = "v1", doc))]
pub use v1::V1;
#[cfg(any(feature = "v2", doc))]
pub use v2::V2;
#[cfg(any(feature = "v3", doc))]
pub use v3::V3;
#[cfg(any(feature = "v4", doc))]
pub use v4::V4;
