//! The one canonical form of an identity string, and the one "same party" predicate.
//!
//! Separation of duties compares identities. Compared as raw strings, `user:Alice`,
//! `user:alice `, `user:ａｌｉｃｅ` (full width), `user:аlice` (Cyrillic `а`) and
//! `user:al\u{200B}ice` (zero-width space) are five different people, and each of them may
//! approve Alice's own request. Here every identity string is turned into an [`IdentityId`]
//! once, at the edge (config load, token verification, request validation), and nothing else
//! is ever compared:
//!
//! 1. trimmed of leading and trailing Unicode white space;
//! 2. refused if empty, if made only of invisible characters, or if it contains a control,
//!    format (zero-width, bidi override, BOM...), white-space, private-use, unassigned or
//!    other default-ignorable character, naming the character and its position;
//! 3. normalised: NFKC, Unicode full case folding, NFKC again (the compatibility caseless
//!    form of Unicode §3.13, composed), then checked again, because compatibility mappings
//!    can produce a space (U+00A8 DIAERESIS becomes a space and a combining mark);
//! 4. its confusable skeleton (Unicode TR39) is computed from the canonical form.
//!
//! Two identities are the [same party](IdentityId::same_party) when their canonical forms
//! or their skeletons are equal. Skeletons deliberately over-match (`l`, `1` and `I` share
//! one): a false "same party" refuses a review, a false "different party" lets someone
//! approve their own request, and only the first is safe.
//!
//! # Threat model
//!
//! Trusted: the Unicode data in the `unicode-normalization`, `unicode-properties`,
//! `caseless` and `unicode-security` crates (Unicode 16 to 18; a character newer than the
//! case-folding data is unassigned to it and simply not folded, but it still meets the
//! skeleton). Not trusted: every identity string, whether it comes from config, a token
//! claim, a certificate or a request body; each one is attacker-controlled spelling.
//! Out of scope: two genuinely different strings a person cannot tell apart that TR39 does
//! not list as confusable (e.g. across scripts the data does not cover).

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest accepted raw identity, in bytes, like the request validator's `subject.id`.
pub const MAX_IDENTITY_BYTES: usize = 256;

/// The prefix of a team owner, matched against identity-provider groups by
/// [`owner_held_by`].
pub const TEAM_PREFIX: &str = "team:";

/// A validated identity in canonical form, with its confusable skeleton.
///
/// It can only be built by [`IdentityId::parse`] (or `FromStr`, `TryFrom`, serde), so holding
/// one proves the string was validated. Equality and hashing use the canonical form; use
/// [`IdentityId::same_party`] for separation of duties, which also catches look-alikes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdentityId {
    canonical: String,
    skeleton: String,
}

/// What kind of forbidden character an identity contained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// `Cc`: C0/C1 controls such as NUL, newline, ESC.
    Control,
    /// `Cf`: invisible format characters: zero-width space/joiners, bidi controls, BOM.
    Format,
    /// Unicode `White_Space` inside the id (spaces, no-break space, line separators).
    Whitespace,
    /// `Co`: private-use characters, whose look has no agreed meaning.
    PrivateUse,
    /// `Cn`: unassigned code points and noncharacters, whose normalisation is not yet fixed.
    Unassigned,
    /// Other `Default_Ignorable_Code_Point`s that render as nothing (variation selectors,
    /// combining grapheme joiner, Hangul fillers).
    Invisible,
}

impl fmt::Display for CharClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Control => "control",
            Self::Format => "invisible format (zero-width, bidi or BOM)",
            Self::Whitespace => "white-space",
            Self::PrivateUse => "private-use",
            Self::Unassigned => "unassigned",
            Self::Invisible => "invisible (default-ignorable)",
        })
    }
}

/// Why a string is not an identity. The messages are meant for the caller: the field name
/// is added by whoever maps this to `InvalidArgument`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Nothing is left after trimming white space.
    #[error("is empty")]
    Empty,
    /// Longer than [`MAX_IDENTITY_BYTES`].
    #[error("is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Every character is invisible: it would display as nothing.
    #[error("contains only invisible characters")]
    OnlyInvisible,
    /// A forbidden character in the (trimmed) input.
    #[error("contains a forbidden {class} character U+{:04X} at position {position}", u32::from(*ch))]
    Forbidden {
        /// The character.
        ch: char,
        /// Its index, in characters, in the trimmed input (0-based).
        position: usize,
        /// Why it is forbidden.
        class: CharClass,
    },
    /// Normalisation produced a forbidden character (e.g. U+00A8 becomes a space).
    #[error("normalises to a forbidden {class} character U+{:04X}", u32::from(*ch))]
    ForbiddenAfterNormalisation {
        /// The character in the normalised form.
        ch: char,
        /// Why it is forbidden.
        class: CharClass,
    },
}

impl IdentityId {
    /// Validates `raw` and builds its canonical form and skeleton.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let canonical = Self::canonical_form(raw)?;
        let skeleton = unicode_security::skeleton(&canonical).collect();
        Ok(Self {
            canonical,
            skeleton,
        })
    }

    /// [`Self::parse`] without the skeleton: the same validation and canonical form, for
    /// where only the form is kept or compared (every request's subject and groups). The
    /// skeleton costs as much again (`benches/identity.rs`).
    pub fn canonical_form(raw: &str) -> Result<String, IdentityError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(IdentityError::Empty);
        }
        if trimmed.len() > MAX_IDENTITY_BYTES {
            return Err(IdentityError::TooLong {
                max: MAX_IDENTITY_BYTES,
            });
        }
        if trimmed.chars().all(is_invisible) {
            return Err(IdentityError::OnlyInvisible);
        }
        if let Some((position, (ch, class))) = trimmed
            .chars()
            .enumerate()
            .find_map(|(i, c)| forbidden(c).map(|class| (i, (c, class))))
        {
            return Err(IdentityError::Forbidden {
                ch,
                position,
                class,
            });
        }
        let canonical = canonicalise(trimmed);
        if let Some((ch, class)) = canonical
            .chars()
            .find_map(|c| forbidden(c).map(|class| (c, class)))
        {
            return Err(IdentityError::ForbiddenAfterNormalisation { ch, class });
        }
        Ok(canonical)
    }

    /// The canonical form: what is stored, logged, hashed and shown to policies.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The TR39 confusable skeleton of the canonical form. Not an identity itself (it may
    /// contain characters a person never typed); only for comparison.
    pub fn skeleton(&self) -> &str {
        &self.skeleton
    }

    /// Whether `self` and `other` must be treated as one party for separation of duties:
    /// the same canonical form, or look-alikes (the same confusable skeleton).
    pub fn same_party(&self, other: &IdentityId) -> bool {
        self.canonical == other.canonical || self.skeleton == other.skeleton
    }

    /// The part after `prefix`, if the canonical form starts with it (e.g. the team name of
    /// `team:growth`).
    pub fn strip_prefix(&self, prefix: &str) -> Option<&str> {
        self.canonical.strip_prefix(prefix)
    }
}

/// Whether a caller with identity `id` and identity-provider `groups` holds `owner`.
///
/// The rule, the same everywhere owners are matched (separation of duties, read access):
/// - any owner is held by an identity that is the [same party](IdentityId::same_party)
///   (`user:bob` owns what `user:bob` owns);
/// - a team owner `team:<name>` is also held through a group that is the same party as
///   `team:<name>` or as the bare `<name>`: identity providers emit group names with or
///   without the `team:` prefix, and both mean membership of that team;
/// - nothing else: a group never holds a `user:` owner, and a team owner is never held by an
///   identity id alone, so `user:growth` does not own `team:growth`.
///
/// Look-alikes count: a group `tеam:growth` with a Cyrillic `е` holds `team:growth`, which
/// errs towards refusing a review, never towards allowing one.
pub fn owner_held_by(owner: &IdentityId, id: &IdentityId, groups: &[IdentityId]) -> bool {
    if owner.same_party(id) {
        return true;
    }
    let Some(team) = owner.strip_prefix(TEAM_PREFIX) else {
        return false;
    };
    // A bare team name that is not itself a valid identity cannot be matched by a group.
    let bare = IdentityId::parse(team).ok();
    groups
        .iter()
        .any(|g| g.same_party(owner) || bare.as_ref().is_some_and(|b| g.same_party(b)))
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl std::str::FromStr for IdentityId {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IdentityId {
    type Error = IdentityError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl TryFrom<&str> for IdentityId {
    type Error = IdentityError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl From<IdentityId> for String {
    fn from(id: IdentityId) -> Self {
        id.canonical
    }
}

impl AsRef<str> for IdentityId {
    fn as_ref(&self) -> &str {
        &self.canonical
    }
}

/// NFKC, full case fold, NFKC: Unicode's compatibility caseless form, composed. Folding
/// twice with NFKC in between makes the result stable (the proptest checks idempotence).
///
/// ASCII alone takes a short cut with the same result: NFKC maps no ASCII character, and
/// full case folding maps only `A`-`Z`, to `a`-`z` (CaseFolding.txt). A proptest compares the
/// two on ASCII strings.
fn canonicalise(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    canonicalise_unicode(s)
}

/// [`canonicalise`] by the Unicode algorithms, whatever the text.
fn canonicalise_unicode(s: &str) -> String {
    let once: String = caseless::default_case_fold_str(&s.nfkc().collect::<String>())
        .nfkc()
        .collect();
    // A fold can expose a new compatibility mapping; a second pass reaches the fixed point.
    caseless::default_case_fold_str(&once).nfkc().collect()
}

/// The first character of `s` that no identifier may contain (the same rule as identities:
/// controls, invisible format characters, white space, private-use, unassigned and other
/// invisible characters), with its position in characters.
pub fn first_forbidden(s: &str) -> Option<(usize, char, CharClass)> {
    s.chars()
        .enumerate()
        .find_map(|(i, c)| forbidden(c).map(|class| (i, c, class)))
}

/// The class of a character no identity may contain, or `None` if it is allowed.
///
/// An ASCII character takes a short cut with the same answer: the ASCII white space (`\t`
/// to `\r`, space), then the other controls (`Cc`: below U+0020, and U+007F); everything
/// else in ASCII is assigned, visible and allowed. A test compares all 128 with the tables.
fn forbidden(c: char) -> Option<CharClass> {
    if c.is_ascii() {
        return if c.is_whitespace() {
            Some(CharClass::Whitespace)
        } else if c.is_ascii_control() {
            Some(CharClass::Control)
        } else {
            None
        };
    }
    forbidden_by_tables(c)
}

/// [`forbidden`] by the Unicode character tables, for any character.
fn forbidden_by_tables(c: char) -> Option<CharClass> {
    if c.is_whitespace() {
        return Some(CharClass::Whitespace);
    }
    match c.general_category() {
        GeneralCategory::Control => Some(CharClass::Control),
        GeneralCategory::Format => Some(CharClass::Format),
        GeneralCategory::SpaceSeparator
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator => Some(CharClass::Whitespace),
        GeneralCategory::PrivateUse | GeneralCategory::Surrogate => Some(CharClass::PrivateUse),
        GeneralCategory::Unassigned => Some(CharClass::Unassigned),
        _ if is_other_default_ignorable(c) => Some(CharClass::Invisible),
        _ => None,
    }
}

/// Renders as nothing: format, control, or another default-ignorable character.
fn is_invisible(c: char) -> bool {
    matches!(
        forbidden(c),
        Some(CharClass::Control | CharClass::Format | CharClass::Invisible | CharClass::Unassigned)
    )
}

/// `Default_Ignorable_Code_Point`s (DerivedCoreProperties.txt) that are not `Cf`, `Cc` or
/// `Cn`, which [`forbidden`] already refuses: the combining grapheme joiner, Khmer inherent
/// vowels, Mongolian variation selectors, Hangul fillers and the variation selectors.
fn is_other_default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x034F
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180D
            | 0x180F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFFA0
            | 0xE0100..=0xE01EF
    )
}

#[cfg(test)]
mod tests;
