mod error;
mod generic_builder;
mod traits;
pub use error::GenericBuilderError;
pub use generic_builder::GenericBuilder;
//pub use traits::*;
