mod local;
mod public;
pub use local::Local;
pub use public::Public;
