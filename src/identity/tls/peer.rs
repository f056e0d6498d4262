//! Who a client certificate names, and which tollgate identity that is.
//!
//! The name is the certificate's SPIFFE ID (its one `spiffe://` URI SAN, validated against
//! the SPIFFE ID rules) or, when it has none, its subject common name. A certificate with a
//! malformed SPIFFE ID, or more than one, is refused rather than falling back to the CN: the
//! issuer meant it to be a SPIFFE identity and we cannot tell which.
//!
//! The name is then matched against configured patterns (`tls.peers`), first match wins, no
//! match is refused. For example `{spiffe: "spiffe://corp.example/agents/*", id: "agent:{1}",
//! kind: agent, groups: [agents], owner: "team:ml"}` maps the workload
//! `spiffe://corp.example/agents/billing` to `agent:billing`, and `{cn:
//! "*.pipelines.corp.example", id: "pipeline:{1}", kind: pipeline}` maps a certificate for
//! `etl.pipelines.corp.example` to `pipeline:etl`.
//!
//! In a pattern, `*` matches one or more characters other than `/` and `.` (one path segment
//! or one DNS label), and `**` matches one or more of any character; `{1}`, `{2}`... in `id`,
//! `groups` and `owner` are what the wildcards matched, in order. The results are canonical
//! [`IdentityId`]s, so a pattern cannot produce an invisible or look-alike id unnoticed.

use serde::{Deserialize, Serialize};
use x509_parser::{extensions::GeneralName, prelude::FromDer};

use crate::domain::{IdentityError, IdentityId, SubjectKind};

/// Longest SPIFFE ID (SPIFFE ID spec §2.3).
const MAX_SPIFFE_BYTES: usize = 2048;

/// One certificate-to-identity rule (`tls.peers[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerPattern {
    /// A SPIFFE ID pattern, e.g. `spiffe://corp.example/agents/*`.
    #[serde(default)]
    pub spiffe: Option<String>,
    /// A subject CN pattern, for certificates without a SPIFFE ID.
    #[serde(default)]
    pub cn: Option<String>,
    /// The identity, e.g. `agent:{1}`.
    pub id: String,
    /// Its kind.
    pub kind: SubjectKind,
    /// Its groups (templates allowed).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Its accountable owner (template allowed).
    #[serde(default)]
    pub owner: Option<String>,
    /// A trusted gateway that may ask about other subjects.
    #[serde(default)]
    pub asserts_subjects: bool,
}

/// What the certificate was matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertName {
    /// A validated SPIFFE ID.
    Spiffe(String),
    /// The subject common name.
    CommonName(String),
}

/// The identity a client certificate proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertIdentity {
    /// The mapped identity.
    pub id: IdentityId,
    /// Its kind.
    pub kind: SubjectKind,
    /// Its groups.
    pub groups: Vec<IdentityId>,
    /// Its owner.
    pub owner: Option<IdentityId>,
    /// Whether it is a gateway that may assert subjects.
    pub asserts_subjects: bool,
    /// The certificate name it was mapped from.
    pub name: CertName,
}

/// Why a client certificate maps to no identity. The connection is still TLS-authenticated,
/// but every request on it is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerIdentityError {
    /// The client sent no certificate.
    #[error("no client certificate")]
    NoCertificate,
    /// The leaf certificate could not be parsed.
    #[error("client certificate cannot be parsed: {0}")]
    Unparsable(String),
    /// A `spiffe:` URI SAN that breaks the SPIFFE ID rules.
    #[error("invalid SPIFFE ID {uri:?}: {reason}")]
    InvalidSpiffe {
        /// The URI.
        uri: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// More than one SPIFFE ID (an SVID has exactly one).
    #[error("client certificate has {count} SPIFFE IDs")]
    SeveralSpiffe {
        /// How many.
        count: usize,
    },
    /// Neither a SPIFFE ID nor a subject CN.
    #[error("client certificate has neither a SPIFFE ID nor a subject CN")]
    NoName,
    /// No pattern matches the name.
    #[error("no identity is configured for {name}")]
    NoMatch {
        /// The SPIFFE ID or CN.
        name: String,
    },
    /// The pattern produced an invalid identity.
    #[error("the identity mapped from {name} is invalid: {source}")]
    InvalidIdentity {
        /// The SPIFFE ID or CN.
        name: String,
        /// Why.
        #[source]
        source: IdentityError,
    },
}

/// Why the pattern list is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tls.peers[{index}]: {message}")]
pub struct PeerConfigError {
    /// The pattern's position.
    pub index: usize,
    /// Why.
    pub message: String,
}

/// The compiled patterns.
#[derive(Debug, Clone)]
pub struct PeerMapper {
    rules: Vec<(Pattern, PeerPattern)>,
}

impl PeerMapper {
    /// Checks and compiles the patterns.
    pub fn new(patterns: &[PeerPattern]) -> Result<Self, PeerConfigError> {
        let rules = patterns
            .iter()
            .enumerate()
            .map(|(index, p)| {
                let error = |message: String| PeerConfigError { index, message };
                let pattern = match (&p.spiffe, &p.cn) {
                    (Some(s), None) if s.starts_with("spiffe://") => Pattern::spiffe(s),
                    (Some(_), None) => {
                        return Err(error("spiffe must start with spiffe://".into()))
                    }
                    (None, Some(c)) if !c.is_empty() => Pattern::cn(c),
                    _ => return Err(error("set exactly one of spiffe, cn".into())),
                };
                let max = std::iter::once(&p.id)
                    .chain(&p.groups)
                    .chain(&p.owner)
                    .map(|t| max_capture(t))
                    .max()
                    .unwrap_or(0);
                if max > pattern.wildcards() {
                    return Err(error(format!(
                        "templates use more captures than the {} wildcard(s) of the pattern",
                        pattern.wildcards()
                    )));
                }
                Ok((pattern, p.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// The identity of the leaf certificate `der`, by the first matching pattern.
    pub fn identify(&self, der: &[u8]) -> Result<CertIdentity, PeerIdentityError> {
        let name = cert_name(der)?;
        let (text, spiffe) = match &name {
            CertName::Spiffe(s) => (s.as_str(), true),
            CertName::CommonName(c) => (c.as_str(), false),
        };
        let (captures, rule) = self
            .rules
            .iter()
            .filter(|(p, _)| p.is_spiffe == spiffe)
            .find_map(|(p, rule)| p.matches(text).map(|c| (c, rule)))
            .ok_or_else(|| PeerIdentityError::NoMatch { name: text.into() })?;
        let make = |template: &str| {
            IdentityId::parse(&fill(template, &captures)).map_err(|source| {
                PeerIdentityError::InvalidIdentity {
                    name: text.into(),
                    source,
                }
            })
        };
        Ok(CertIdentity {
            id: make(&rule.id)?,
            kind: rule.kind,
            groups: rule
                .groups
                .iter()
                .map(|g| make(g))
                .collect::<Result<_, _>>()?,
            owner: rule.owner.as_deref().map(make).transpose()?,
            asserts_subjects: rule.asserts_subjects,
            name,
        })
    }
}

/// The certificate's SPIFFE ID, or else its subject CN.
pub fn cert_name(der: &[u8]) -> Result<CertName, PeerIdentityError> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|e| PeerIdentityError::Unparsable(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| PeerIdentityError::Unparsable(e.to_string()))?;
    let spiffe: Vec<&str> = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|n| match n {
            GeneralName::URI(uri)
                if uri
                    .get(..9)
                    .is_some_and(|s| s.eq_ignore_ascii_case("spiffe://")) =>
            {
                Some(*uri)
            }
            _ => None,
        })
        .collect();
    match spiffe.as_slice() {
        [one] => return validate_spiffe(one).map(CertName::Spiffe),
        [] => {}
        several => {
            return Err(PeerIdentityError::SeveralSpiffe {
                count: several.len(),
            })
        }
    }
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .filter(|cn| !cn.is_empty())
        .ok_or(PeerIdentityError::NoName)?;
    Ok(CertName::CommonName(cn.to_string()))
}

/// Checks a SPIFFE ID against the SPIFFE ID specification (§2): `spiffe` scheme in lower
/// case, a trust domain of `[a-z0-9.-_]`, a path of non-empty segments of
/// `[A-Za-z0-9.-_]` that are not `.` or `..`, nothing else (no port, user, query, fragment).
pub fn validate_spiffe(uri: &str) -> Result<String, PeerIdentityError> {
    let invalid = |reason| PeerIdentityError::InvalidSpiffe {
        uri: uri.into(),
        reason,
    };
    if uri.len() > MAX_SPIFFE_BYTES {
        return Err(invalid("longer than 2048 bytes"));
    }
    let rest = uri
        .strip_prefix("spiffe://")
        .ok_or_else(|| invalid("scheme must be lower-case spiffe"))?;
    let (domain, path) = rest.split_once('/').unwrap_or((rest, ""));
    if domain.is_empty() {
        return Err(invalid("trust domain is empty"));
    }
    if !domain
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
    {
        return Err(invalid(
            "trust domain may hold only a-z, 0-9, '-', '.', '_'",
        ));
    }
    if !path.is_empty() {
        for segment in path.split('/') {
            if segment.is_empty() {
                return Err(invalid("path has an empty segment"));
            }
            if segment == "." || segment == ".." {
                return Err(invalid("path has a '.' or '..' segment"));
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            {
                return Err(invalid("path may hold only A-Z, a-z, 0-9, '-', '.', '_'"));
            }
        }
    }
    Ok(uri.to_string())
}

/// A compiled pattern: literal pieces and wildcards.
#[derive(Debug, Clone)]
struct Pattern {
    is_spiffe: bool,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `*`: one or more characters, none of them `/` or `.`.
    Segment,
    /// `**`: one or more of any character.
    Rest,
}

impl Pattern {
    fn spiffe(s: &str) -> Self {
        Self {
            is_spiffe: true,
            parts: parse_parts(s),
        }
    }

    fn cn(s: &str) -> Self {
        Self {
            is_spiffe: false,
            parts: parse_parts(s),
        }
    }

    fn wildcards(&self) -> usize {
        self.parts
            .iter()
            .filter(|p| !matches!(p, Part::Literal(_)))
            .count()
    }

    /// The wildcard captures if `text` matches the whole pattern.
    fn matches(&self, text: &str) -> Option<Vec<String>> {
        let mut captures = Vec::new();
        match_parts(&self.parts, text, &mut captures).then_some(captures)
    }
}

fn parse_parts(s: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '*' {
            literal.push(c);
            continue;
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        if chars.peek() == Some(&'*') {
            chars.next();
            parts.push(Part::Rest);
        } else {
            parts.push(Part::Segment);
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    parts
}

/// Backtracking match; patterns are short and few, names are bounded.
fn match_parts(parts: &[Part], text: &str, captures: &mut Vec<String>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return text.is_empty();
    };
    match first {
        Part::Literal(l) => text
            .strip_prefix(l.as_str())
            .is_some_and(|t| match_parts(rest, t, captures)),
        Part::Segment | Part::Rest => {
            let boundary = text
                .char_indices()
                .find(|(_, c)| *first == Part::Segment && (*c == '/' || *c == '.'))
                .map_or(text.len(), |(i, _)| i);
            let ends = text
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .take_while(|end| *end <= boundary);
            for end in ends {
                captures.push(text[..end].to_string());
                if match_parts(rest, &text[end..], captures) {
                    return true;
                }
                captures.pop();
            }
            false
        }
    }
}

/// The highest `{n}` a template names (0 for none).
fn max_capture(template: &str) -> usize {
    template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}'))
        .filter_map(|(n, _)| n.parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}

/// Replaces `{n}` with the n-th capture (1-based).
fn fill(template: &str, captures: &[String]) -> String {
    captures
        .iter()
        .enumerate()
        .fold(template.to_string(), |out, (i, c)| {
            out.replace(&format!("{{{}}}", i + 1), c)
        })
}
