//! Errors in logs with their causes: `Display` of a wrapper error often hides why it happened
//! ("database error"), and the cause is exactly what an operator needs. Callers still get a
//! stable message; the log gets the whole chain.

use std::fmt;

/// Displays an error and every `source()` below it: `outer: cause: root cause`.
pub struct ErrorChain<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("database error")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_whole_chain_is_shown() {
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(
            ErrorChain(&e).to_string(),
            "database error: connection refused"
        );
    }
}
