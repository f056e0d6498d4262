//! Where the gateway's calls go: the upstream MCP server, either a stdio child process (the
//! command after `--`) or a Streamable HTTP endpoint (`--upstream-url`, with
//! `--upstream-header`s such as a bearer token). Only the transport differs: both become the
//! same rmcp client session, so deciding, holding, redeeming and forwarding are one code path.
//! Header values are credentials: they are marked sensitive and never logged or echoed in
//! an error; only header names are.

use std::{collections::HashMap, time::Duration};

use reqwest::header::{HeaderName, HeaderValue};
use rmcp::{
    service::RunningService,
    transport::{
        streamable_http_client::StreamableHttpClientTransportConfig, StreamableHttpClientTransport,
        TokioChildProcess,
    },
    RoleClient, ServiceExt,
};

use super::McpError;

/// How long connecting to an HTTP upstream may take (a tool call itself may take longer).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The upstream MCP server, as the flags named it.
#[derive(Clone, PartialEq, Eq)]
pub enum Upstream {
    /// A server the gateway starts and talks to over stdio.
    Child {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// A server reached over Streamable HTTP.
    Http {
        /// The endpoint, e.g. `https://tools.example.com/mcp`.
        url: reqwest::Url,
        /// Sent with every request (values marked sensitive).
        headers: HashMap<HeaderName, HeaderValue>,
    },
}

impl std::fmt::Debug for Upstream {
    /// Names the upstream for logs: the program, or the URL without credentials or query;
    /// header values never appear.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Upstream {
    /// The upstream named by `--upstream-url` (with `--upstream-header`s) or by the command
    /// after `--`: exactly one of the two, or an error naming the flag.
    pub fn choose(
        url: Option<&str>,
        headers: &[String],
        command: &[String],
    ) -> Result<Self, McpError> {
        match (url, command.split_first()) {
            (Some(_), Some(_)) => Err(McpError::Flag {
                flag: "--upstream-url",
                reason: "give either --upstream-url or a server command after `--`, not both"
                    .into(),
            }),
            (None, None) => Err(McpError::Flag {
                flag: "--upstream-url",
                reason: "name the upstream MCP server: --upstream-url <URL> or a server \
                         command after `--`"
                    .into(),
            }),
            (None, Some(_)) if !headers.is_empty() => Err(McpError::Flag {
                flag: "--upstream-header",
                reason: "only applies to --upstream-url".into(),
            }),
            (None, Some((program, args))) => Ok(Self::Child {
                program: program.clone(),
                args: args.to_vec(),
            }),
            (Some(url), None) => Ok(Self::Http {
                url: endpoint(url)?,
                headers: headers
                    .iter()
                    .map(|h| header(h))
                    .collect::<Result<_, _>>()?,
            }),
        }
    }

    /// The upstream for logs: the program, or scheme, host, port and path of the URL.
    pub fn describe(&self) -> String {
        match self {
            Self::Child { program, .. } => program.clone(),
            Self::Http { url, .. } => {
                let mut shown = url.clone();
                shown.set_query(None);
                shown.set_fragment(None);
                // Cannot fail for http(s) URLs, which are all `endpoint` accepts.
                let _ = shown.set_username("");
                let _ = shown.set_password(None);
                shown.to_string()
            }
        }
    }

    /// Starts (or connects to) the upstream server and completes the MCP handshake.
    pub async fn connect(&self) -> Result<RunningService<RoleClient, ()>, McpError> {
        let session = match self {
            Self::Child { program, args } => {
                let mut command = tokio::process::Command::new(program);
                command.args(args);
                let transport = TokioChildProcess::new(command).map_err(McpError::Spawn)?;
                ().serve(transport).await
            }
            Self::Http { url, headers } => {
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(headers.clone());
                let transport = StreamableHttpClientTransport::with_client(http_client()?, config);
                ().serve(transport).await
            }
        };
        session.map_err(|e| McpError::Upstream(Box::new(e)))
    }
}

/// `--upstream-url`: an absolute http(s) URL.
fn endpoint(raw: &str) -> Result<reqwest::Url, McpError> {
    super::http_url("--upstream-url", raw)
}

/// One `--upstream-header`, `Name: value`; the error names the header, never its value.
fn header(raw: &str) -> Result<(HeaderName, HeaderValue), McpError> {
    let bad = |reason: String| McpError::Flag {
        flag: "--upstream-header",
        reason,
    };
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| bad("expected `Name: value`".into()))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| bad("the header name is not a valid HTTP header name".into()))?;
    let mut value = HeaderValue::from_str(value.trim())
        .map_err(|_| bad(format!("the value of {name} is not a valid header value")))?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// The HTTP client of an HTTP upstream: rustls with the ring provider and the platform's
/// trust roots; no redirects (a redirect would carry the headers elsewhere); no overall
/// timeout, since a tool call's event stream lasts as long as the tool runs; no idle pool,
/// as rmcp's own default client (a reused connection whose last body was not drained stalls).
fn http_client() -> Result<reqwest::Client, McpError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let tls_error = |e: rustls::Error| McpError::Flag {
        flag: "--upstream-url",
        reason: format!("TLS client setup: {e}"),
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .map_err(McpError::HttpClient)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    fn flag_of(e: McpError) -> &'static str {
        match e {
            McpError::Flag { flag, .. } => flag,
            other => panic!("not a flag error: {other}"),
        }
    }

    #[test]
    fn exactly_one_upstream_is_named() {
        let both = Upstream::choose(Some("http://h/mcp"), &[], &strings(&["srv"]));
        assert_eq!(flag_of(both.unwrap_err()), "--upstream-url");
        let neither = Upstream::choose(None, &[], &[]);
        assert_eq!(flag_of(neither.unwrap_err()), "--upstream-url");
        let stray = Upstream::choose(None, &strings(&["A: b"]), &strings(&["srv"]));
        assert_eq!(flag_of(stray.unwrap_err()), "--upstream-header");
        let child = Upstream::choose(None, &[], &strings(&["python3", "s.py"])).unwrap();
        assert_eq!(
            child,
            Upstream::Child {
                program: "python3".into(),
                args: strings(&["s.py"])
            }
        );
    }

    #[test]
    fn the_url_must_be_http_with_a_host() {
        for bad in ["tools/mcp", "ftp://h/mcp", "file:///mcp", "http://"] {
            let e = Upstream::choose(Some(bad), &[], &[]).unwrap_err();
            assert_eq!(flag_of(e), "--upstream-url", "{bad}");
        }
        assert!(Upstream::choose(Some("https://h:8443/mcp"), &[], &[]).is_ok());
    }

    #[test]
    fn header_values_are_sensitive_and_never_shown() {
        let up = Upstream::choose(
            Some("https://user:pw@h/mcp?key=secret-q"),
            &strings(&["Authorization: Bearer secret-t", "X-Team:growth"]),
            &[],
        )
        .unwrap();
        let Upstream::Http { headers, .. } = &up else {
            panic!("an HTTP upstream")
        };
        let auth = &headers[&HeaderName::from_static("authorization")];
        assert_eq!(auth.to_str().unwrap(), "Bearer secret-t");
        assert!(auth.is_sensitive());
        assert_eq!(headers[&HeaderName::from_static("x-team")], "growth");
        let shown = format!("{up:?} {}", up.describe());
        for secret in ["secret-t", "secret-q", "pw", "user"] {
            assert!(!shown.contains(secret), "{shown} shows {secret}");
        }
        assert!(shown.contains("https://h/mcp"), "{shown}");

        let bad = Upstream::choose(
            Some("https://h/mcp"),
            &strings(&["X-Key: a\u{7f}secret"]),
            &[],
        );
        let said = bad.unwrap_err().to_string();
        assert!(
            said.contains("--upstream-header") && said.contains("x-key"),
            "{said}"
        );
        assert!(!said.contains("secret"), "{said}");
        let unnamed = Upstream::choose(Some("https://h/mcp"), &strings(&["no colon secret"]), &[]);
        assert!(!unnamed.unwrap_err().to_string().contains("secret"));
    }
}
