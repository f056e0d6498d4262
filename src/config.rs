//! One typed configuration: built-in defaults, then a YAML file, then `TOLLGATE_*`
//! environment variables and flags (clap merges those two), validated before serving.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{
    domain::InputLimits,
    identity::{limits::LimitsConfig, tls::TlsConfig, AuthConfig, AuthMode},
    policy::{CacheConfig, EvalLimits, RequirementDefaults, VerificationConfig},
    service::{Roles, RolesConfig},
};

/// Why the configuration is unusable. The server does not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML of the expected shape.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: yaml_serde::Error,
    },
    /// A value is out of range or inconsistent with another.
    #[error("invalid config: {field}: {message}")]
    Invalid {
        /// The offending key, dotted.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// `tracing` filter directive, e.g. `info` or `tollgate=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

/// Tracing export. Spans are always ordinary `tracing` spans (they give log lines their
/// context); only with an OTLP endpoint are they also exported, so an unconfigured server
/// pays nothing for OpenTelemetry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// OTLP/gRPC collector, e.g. `http://127.0.0.1:4317`; unset: no export.
    pub otlp_endpoint: Option<String>,
    /// `service.name` on exported spans, so dashboards can tell tollgate from its callers.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "tollgate".into(),
        }
    }
}

/// Where policy comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BundleConfig {
    /// A bundle directory or OPA `.tar.gz`.
    pub path: PathBuf,
    /// Reload when the source changes on disk.
    pub watch: bool,
    /// Require OPA-signed bundles (`.signatures.json`) verified with this key; unset means
    /// bundles are not checked for signatures.
    pub verification: Option<VerificationConfig>,
}

impl Default for BundleConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("policies"),
            watch: true,
            verification: None,
        }
    }
}

/// Where approvals and capabilities are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://...` to share state between replicas; unset means the SQLite file
    /// `data_dir/tollgate.db`.
    pub url: Option<String>,
    /// Longest a call waits for a PostgreSQL connection before answering UNAVAILABLE: the
    /// fail-fast bound while the database is unreachable (SQLite fails at once on a bad disk).
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: None,
            acquire_timeout: Duration::from_millis(500),
        }
    }
}

/// The audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Record every decision and approval event. Off means NOTHING is recorded (a loud
    /// warning at start): only for benchmarks and throwaway set-ups.
    pub enabled: bool,
    /// Dotted input paths masked in every recorded input, besides the policy's own `mask`
    /// (e.g. `action.params.password`, `subject.attributes.token`, `context.attributes.*`).
    pub mask: Vec<String>,
    /// The checkpoint signing key (PASERK, mode 0600), generated if missing. Replicas sharing a
    /// database must share it. Default: `data_dir/audit-ed25519.paserk`.
    pub key_file: Option<PathBuf>,
    /// Sign a checkpoint after this many new records.
    pub checkpoint_every: u64,
    /// ...or after this long, when there are new records.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// Most events the group commit puts in one transaction.
    pub max_batch: usize,
    /// When an answer's commit reaches the disk: `power` (fsync before answering, the
    /// default) or `process` (written before answering, flushed within about a quarter second:
    /// survives kill -9, not power loss). See `docs/audit.md`.
    pub durability: crate::store::Durability,
    /// Where checkpoints are anchored outside the database (file, webhook).
    pub anchor: crate::audit::anchor::AnchorConfig,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            mask: Vec::new(),
            key_file: None,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
            max_batch: 512,
            durability: crate::store::Durability::Power,
            anchor: crate::audit::anchor::AnchorConfig::default(),
        }
    }
}

impl AuditConfig {
    /// Checks ranges and mask paths.
    fn validate(&self) -> Result<(), ConfigError> {
        let Self {
            enabled: _,
            mask,
            key_file,
            checkpoint_every,
            checkpoint_interval,
            max_batch,
            durability: _,
            anchor,
        } = self;
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_string(),
            })
        };
        if mask.iter().any(|p| p.split('.').any(str::is_empty)) {
            return invalid("audit.mask", "paths are dotted keys, none empty");
        }
        if key_file.as_ref().is_some_and(|k| k.as_os_str().is_empty()) {
            return invalid("audit.key_file", "must not be empty");
        }
        if *checkpoint_every == 0 || checkpoint_interval.is_zero() {
            return invalid(
                "audit",
                "checkpoint_every and checkpoint_interval must be positive",
            );
        }
        if !(1..=4096).contains(max_batch) {
            return invalid("audit.max_batch", "must be between 1 and 4096");
        }
        if anchor
            .file
            .as_ref()
            .is_some_and(|f| f.as_os_str().is_empty())
        {
            return invalid("audit.anchor.file", "must not be empty");
        }
        if let Some(url) = &anchor.webhook {
            if !crate::outbound::acceptable_url(url) {
                return invalid(
                    "audit.anchor.webhook",
                    "must be an https:// URL (plain http only to a loopback address)",
                );
            }
        }
        Ok(())
    }
}

/// The whole configuration. Every field has a default that runs out of the box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// gRPC listen address.
    pub grpc_addr: SocketAddr,
    /// HTTP listen address (health, status).
    pub http_addr: SocketAddr,
    /// The HTTP port's externally visible base URL, e.g. `https://tollgate.example.com`,
    /// for links in answers (AuthZEN metadata, approval pages). Unset: the request's `Host`.
    pub public_url: Option<String>,
    /// Envoy ext_authz: which request headers name the subject, intent and capability, and
    /// how a pending approval is answered.
    pub ext_authz: crate::grpc::ext_authz::ExtAuthzConfig,
    /// State directory (created if missing).
    pub data_dir: PathBuf,
    /// Policy source.
    pub bundle: BundleConfig,
    /// Per-evaluation limits.
    pub limits: EvalLimits,
    /// Request content limits.
    pub input: InputLimits,
    /// Largest accepted gRPC message, bytes.
    pub max_message_bytes: usize,
    /// Optional verdict cache.
    pub decision_cache: CacheConfig,
    /// Defaults for approval requirements that omit a TTL.
    pub approvals: RequirementDefaults,
    /// TLS for both ports (mutual with a client CA); unset means plaintext, which is only
    /// allowed on loopback addresses.
    pub tls: Option<TlsConfig>,
    /// Caller identification.
    pub auth: AuthConfig,
    /// Who holds which role (authorize, gateway, review, redeem, audit, admin).
    pub roles: RolesConfig,
    /// Per-identity rate limits and the pending-approvals quota.
    pub rate_limits: LimitsConfig,
    /// Approval and capability storage.
    pub store: StoreConfig,
    /// The capability signing key (PASERK, mode 0600), generated if missing. Replicas
    /// sharing a database must share it. Default: `data_dir/capability-ed25519.paserk`.
    pub capability_key_file: Option<PathBuf>,
    /// Logging.
    pub log: LogConfig,
    /// OpenTelemetry export.
    pub telemetry: TelemetryConfig,
    /// The audit trail.
    pub audit: AuditConfig,
    /// Reviewer notifications (Slack, Teams, webhooks) through the durable outbox.
    pub notify: crate::notify::NotifyConfig,
    /// The reviewer console on the HTTP port (OIDC sign-in, sessions).
    pub console: crate::http::console::ConsoleConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8181)),
            public_url: None,
            ext_authz: crate::grpc::ext_authz::ExtAuthzConfig::default(),
            data_dir: PathBuf::from("tollgate-data"),
            bundle: BundleConfig::default(),
            limits: EvalLimits::default(),
            input: InputLimits::default(),
            max_message_bytes: 256 * 1024,
            decision_cache: CacheConfig::default(),
            approvals: RequirementDefaults::default(),
            tls: None,
            auth: AuthConfig::default(),
            roles: RolesConfig::default(),
            rate_limits: LimitsConfig::default(),
            store: StoreConfig::default(),
            capability_key_file: None,
            log: LogConfig::default(),
            telemetry: TelemetryConfig::default(),
            audit: AuditConfig::default(),
            notify: crate::notify::NotifyConfig::default(),
            console: crate::http::console::ConsoleConfig::default(),
        }
    }
}

/// Values from flags or `TOLLGATE_*` variables; each set one replaces the file's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--grpc-addr` / `TOLLGATE_GRPC_ADDR`.
    pub grpc_addr: Option<SocketAddr>,
    /// `--http-addr` / `TOLLGATE_HTTP_ADDR`.
    pub http_addr: Option<SocketAddr>,
    /// `--data-dir` / `TOLLGATE_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--bundle` / `TOLLGATE_BUNDLE`.
    pub bundle: Option<PathBuf>,
    /// `--log-level` / `TOLLGATE_LOG_LEVEL`.
    pub log_level: Option<String>,
    /// `--log-format` / `TOLLGATE_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
    /// `--store-url` / `TOLLGATE_STORE_URL`.
    pub store_url: Option<String>,
    /// `--otlp-endpoint` / `TOLLGATE_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// `--audit-enabled` / `TOLLGATE_AUDIT_ENABLED`.
    pub audit_enabled: Option<bool>,
    /// `--audit-key-file` / `TOLLGATE_AUDIT_KEY_FILE`.
    pub audit_key_file: Option<PathBuf>,
    /// `--audit-durability` / `TOLLGATE_AUDIT_DURABILITY`.
    pub audit_durability: Option<crate::store::Durability>,
}

impl Config {
    /// Defaults, then `file` if given, then `overrides`; validated.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let mut config = match file {
            None => Self::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                if text.trim().is_empty() {
                    Self::default()
                } else {
                    yaml_serde::from_str(&text).map_err(|source| ConfigError::Parse {
                        path: path.to_path_buf(),
                        source,
                    })?
                }
            }
        };
        let Overrides {
            grpc_addr,
            http_addr,
            data_dir,
            bundle,
            log_level,
            log_format,
            store_url,
            otlp_endpoint,
            audit_enabled,
            audit_key_file,
            audit_durability,
        } = overrides;
        if let Some(v) = grpc_addr {
            config.grpc_addr = v;
        }
        if let Some(v) = http_addr {
            config.http_addr = v;
        }
        if let Some(v) = data_dir {
            config.data_dir = v;
        }
        if let Some(v) = bundle {
            config.bundle.path = v;
        }
        if let Some(v) = log_level {
            config.log.level = v;
        }
        if let Some(v) = log_format {
            config.log.format = v;
        }
        if let Some(v) = store_url {
            config.store.url = Some(v);
        }
        if let Some(v) = otlp_endpoint {
            config.telemetry.otlp_endpoint = Some(v);
        }
        if let Some(v) = audit_enabled {
            config.audit.enabled = v;
        }
        if let Some(v) = audit_key_file {
            config.audit.key_file = Some(v);
        }
        if let Some(v) = audit_durability {
            config.audit.durability = v;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and combinations no single field can check.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let Self {
            grpc_addr,
            http_addr,
            public_url,
            ext_authz,
            data_dir,
            bundle,
            limits,
            input,
            max_message_bytes,
            decision_cache,
            approvals,
            tls,
            auth,
            roles: _,
            rate_limits,
            store,
            capability_key_file: _,
            log: _,
            telemetry,
            audit,
            notify,
            console,
        } = self;
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_string(),
            })
        };
        if auth.mode == AuthMode::Insecure
            && !(grpc_addr.ip().is_loopback() && http_addr.ip().is_loopback())
        {
            return invalid(
                "auth.mode",
                "insecure mode trusts request bodies and is only allowed on loopback addresses; configure static_tokens",
            );
        }
        if tls.is_none() && !(grpc_addr.ip().is_loopback() && http_addr.ip().is_loopback()) {
            return invalid(
                "tls",
                "plaintext is only allowed on loopback addresses; configure tls (cert_file, key_file, client_ca_file) to listen elsewhere",
            );
        }
        if let Some(tls) = tls {
            crate::identity::tls::TlsReloader::load(tls).map_err(|e| ConfigError::Invalid {
                field: "tls",
                message: crate::telemetry::ErrorChain(&e).to_string(),
            })?;
            crate::identity::tls::PeerMapper::new(&tls.peers).map_err(|e| {
                ConfigError::Invalid {
                    field: "tls.peers",
                    message: e.to_string(),
                }
            })?;
        }
        let loopback = grpc_addr.ip().is_loopback() && http_addr.ip().is_loopback();
        if !loopback && auth.tokens.iter().any(|t| t.step_up) {
            return invalid(
                "auth.tokens",
                "step_up: true is for development tokens on loopback-only servers",
            );
        }
        if let Some(url) = public_url {
            let parsed = url::Url::parse(url).map_err(|e| ConfigError::Invalid {
                field: "public_url",
                message: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
                return invalid("public_url", "must be an http(s) URL without a query");
            }
        }
        ext_authz
            .check()
            .map_err(|(field, message)| ConfigError::Invalid { field, message })?;
        if data_dir.as_os_str().is_empty() {
            return invalid("data_dir", "must not be empty");
        }
        if bundle.path.as_os_str().is_empty() {
            return invalid("bundle.path", "must not be empty");
        }
        if let Some(verification) = &bundle.verification {
            crate::policy::BundleVerifier::from_config(verification).map_err(|e| {
                ConfigError::Invalid {
                    field: "bundle.verification",
                    message: e.to_string(),
                }
            })?;
        }
        if limits.timeout.is_zero() || limits.max_instructions == 0 {
            return invalid("limits", "timeout and max_instructions must be positive");
        }
        if input.max_depth == 0 || input.max_values == 0 || input.max_string_bytes == 0 {
            return invalid("input", "limits must be positive");
        }
        if !(1024..=16 * 1024 * 1024).contains(max_message_bytes) {
            return invalid("max_message_bytes", "must be between 1 KiB and 16 MiB");
        }
        if decision_cache.enabled
            && (decision_cache.ttl.is_zero() || decision_cache.max_entries == 0)
        {
            return invalid("decision_cache", "ttl and max_entries must be positive");
        }
        if approvals.ttl.is_zero() || approvals.capability_ttl.is_zero() {
            return invalid("approvals", "ttl and capability_ttl must be positive");
        }
        if let Some(url) = &store.url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return invalid(
                    "store.url",
                    "must be a postgres:// URL (unset means SQLite in data_dir)",
                );
            }
        }
        let TelemetryConfig {
            otlp_endpoint,
            service_name,
        } = telemetry;
        if let Some(url) = otlp_endpoint {
            // The exporter is built without TLS: refuse what it could not honour.
            if !url.starts_with("http://") {
                return invalid(
                    "telemetry.otlp_endpoint",
                    "must be an http:// URL of an OTLP/gRPC collector (TLS is not built in)",
                );
            }
        }
        if service_name.trim().is_empty() {
            return invalid("telemetry.service_name", "must not be empty");
        }
        audit.validate()?;
        notify.validate().map_err(|e| ConfigError::Invalid {
            field: "notify",
            message: e.to_string(),
        })?;
        console
            .validate(&auth.jwt.issuers)
            .map_err(|message| ConfigError::Invalid {
                field: "console",
                message,
            })?;
        let certificates = tls.as_ref().is_some_and(|t| !t.peers.is_empty());
        crate::identity::Authenticator::new(auth, certificates).map_err(|e| {
            ConfigError::Invalid {
                field: "auth",
                message: e.to_string(),
            }
        })?;
        self.roles().map_err(|message| ConfigError::Invalid {
            field: "roles",
            message,
        })?;
        crate::identity::limits::RateLimits::new(rate_limits).map_err(|e| {
            ConfigError::Invalid {
                field: "rate_limits",
                message: e.to_string(),
            }
        })?;
        Ok(())
    }

    /// The roles as configured: `roles:`, with the older `auth.admin_group` and
    /// `auth.auditor_group` replacing the admin and audit members when set.
    pub fn roles(&self) -> Result<Roles, String> {
        let mut roles = self.roles.clone();
        if let Some(g) = &self.auth.admin_group {
            roles.admin = vec![format!("group:{g}")];
        }
        if let Some(g) = &self.auth.auditor_group {
            roles.audit = vec![format!("group:{g}")];
        }
        Roles::new(&roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn file_then_overrides() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "grpc_addr: 127.0.0.1:6000\nlimits:\n  timeout: 20ms\nbundle:\n  watch: false"
        )
        .unwrap();
        let c = Config::load(
            Some(f.path()),
            Overrides {
                grpc_addr: Some("127.0.0.1:7000".parse().unwrap()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.grpc_addr.port(), 7000);
        assert_eq!(c.limits.timeout, std::time::Duration::from_millis(20));
        assert!(!c.bundle.watch);
        assert_eq!(c.telemetry, TelemetryConfig::default());
    }

    #[test]
    fn telemetry_endpoint_from_file_or_override_and_checked() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "telemetry:\n  otlp_endpoint: http://127.0.0.1:4317\n  service_name: edge-tollgate"
        )
        .unwrap();
        let c = Config::load(Some(f.path()), Overrides::default()).unwrap();
        assert_eq!(
            c.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4317")
        );
        assert_eq!(c.telemetry.service_name, "edge-tollgate");
        let c = Config::load(
            Some(f.path()),
            Overrides {
                otlp_endpoint: Some("http://collector:4317".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(
            c.telemetry.otlp_endpoint.as_deref(),
            Some("http://collector:4317")
        );
        let mut c = Config::default();
        c.telemetry.otlp_endpoint = Some("collector:4317".into());
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "telemetry.otlp_endpoint",
                ..
            })
        ));
    }

    #[test]
    fn audit_section_defaults_overrides_and_checks() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "audit:\n  mask: [action.params.password, context.attributes.*]\n  checkpoint_interval: 5s\n  max_batch: 64"
        )
        .unwrap();
        let c = Config::load(
            Some(f.path()),
            Overrides {
                audit_enabled: Some(false),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert!(!c.audit.enabled);
        assert_eq!(c.audit.mask.len(), 2);
        assert_eq!(c.audit.checkpoint_interval, Duration::from_secs(5));
        assert_eq!((c.audit.checkpoint_every, c.audit.max_batch), (1000, 64));
        for bad in [
            AuditConfig {
                mask: vec!["action..x".into()],
                ..AuditConfig::default()
            },
            AuditConfig {
                checkpoint_every: 0,
                ..AuditConfig::default()
            },
            AuditConfig {
                max_batch: 0,
                ..AuditConfig::default()
            },
        ] {
            let c = Config {
                audit: bad,
                ..Config::default()
            };
            assert!(matches!(c.validate(), Err(ConfigError::Invalid { .. })));
        }
    }

    #[test]
    fn unknown_keys_and_unsafe_combinations_are_refused() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "grcp_addr: 127.0.0.1:6000").unwrap();
        assert!(matches!(
            Config::load(Some(f.path()), Overrides::default()),
            Err(ConfigError::Parse { .. })
        ));
        let c = Config {
            grpc_addr: "0.0.0.0:50051".parse().unwrap(),
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "auth.mode",
                ..
            })
        ));
    }
}
