mod error;
mod generic_parser;

pub use error::GenericParserError;
pub use generic_parser::GenericParser;
