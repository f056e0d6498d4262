//! Logging: a `tracing` subscriber writing structured logs to stderr, pretty or JSON.
//! OpenTelemetry export and Prometheus metrics join here.

use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::config::{LogConfig, LogFormat};

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The level directive does not parse.
    #[error("invalid log level {level:?}: {source}")]
    Filter {
        /// The directive.
        level: String,
        /// The parser's error.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber is already installed.
    #[error("logging already initialised: {0}")]
    Init(#[from] tracing_subscriber::util::TryInitError),
}

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(config: &LogConfig) -> Result<(), TelemetryError> {
    let filter = EnvFilter::try_new(&config.level).map_err(|source| TelemetryError::Filter {
        level: config.level.clone(),
        source,
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    match config.format {
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init()?,
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .try_init()?,
    }
    Ok(())
}
