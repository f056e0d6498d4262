use proptest::prelude::*;

use super::*;

fn id(s: &str) -> IdentityId {
    IdentityId::parse(s).unwrap()
}

fn err(s: &str) -> IdentityError {
    IdentityId::parse(s).unwrap_err()
}

#[test]
fn case_and_surrounding_space_give_one_canonical_form() {
    for alias in [
        "user:Alice@Example.com",
        " user:alice@example.com\t",
        "USER:ALICE@EXAMPLE.COM",
    ] {
        assert_eq!(id(alias).as_str(), "user:alice@example.com", "{alias:?}");
        assert_eq!(id(alias), id("user:alice@example.com"));
    }
}

#[test]
fn full_case_folding_not_just_lowercase() {
    // ß folds to "ss" and the Kelvin sign to k; to_lowercase would keep ß.
    assert_eq!(id("user:Straße").as_str(), "user:strasse");
    assert_eq!(id("user:\u{212A}im").as_str(), "user:kim");
    assert!(id("user:STRASSE").same_party(&id("user:straße")));
}

#[test]
fn full_width_and_compatibility_letters_normalise() {
    assert_eq!(id("user:ａｌｉｃｅ").as_str(), "user:alice");
    assert_eq!(id("user:Ａｌｉｃｅ").as_str(), "user:alice");
    // Ligature ﬁ and the mathematical bold A are compatibility variants.
    assert_eq!(id("user:\u{FB01}ona").as_str(), "user:fiona");
    assert_eq!(id("user:\u{1D400}nn").as_str(), "user:ann");
}

#[test]
fn combining_sequences_compose() {
    let composed = id("user:jos\u{E9}");
    let decomposed = id("user:jose\u{301}");
    assert_eq!(composed, decomposed);
    assert_eq!(composed.to_string(), "user:jos\u{E9}");
}

#[test]
fn look_alikes_are_the_same_party_but_not_equal() {
    let alice = id("user:alice");
    for alias in [
        "user:\u{430}lice", // Cyrillic а
        "user:\u{410}LICE", // Cyrillic А, folded then skeleton
        "user:al\u{456}ce", // Cyrillic і
        "user:\u{3B1}lice", // Greek α
    ] {
        let other = id(alias);
        assert_ne!(alice, other, "{alias:?}");
        assert!(alice.same_party(&other), "{alias:?}");
        assert!(other.same_party(&alice), "{alias:?}");
    }
    // Greek omicron (small and capital) is confusable with o.
    assert!(id("agent:bot").same_party(&id("agent:b\u{3BF}t")));
    assert!(id("agent:bot").same_party(&id("agent:b\u{39F}T")));
    // Skeletons over-match on purpose: l and 1 look alike.
    assert!(id("user:al").same_party(&id("user:a1")));
    assert!(!id("user:alice").same_party(&id("user:bob")));
}

#[test]
fn zero_width_and_bidi_characters_are_refused_with_position() {
    assert_eq!(
        err("user:al\u{200B}ice"),
        IdentityError::Forbidden {
            ch: '\u{200B}',
            position: 7,
            class: CharClass::Format,
        }
    );
    for (raw, ch) in [
        ("user:al\u{200D}ice", '\u{200D}'), // zero-width joiner
        ("user:al\u{200C}ice", '\u{200C}'), // zero-width non-joiner
        ("user:\u{202E}ecila", '\u{202E}'), // right-to-left override
        ("user:\u{2066}alice", '\u{2066}'), // left-to-right isolate
        ("\u{FEFF}user:alice", '\u{FEFF}'), // BOM
        ("user:alice\u{AD}", '\u{AD}'),     // soft hyphen
    ] {
        assert!(
            matches!(err(raw), IdentityError::Forbidden { ch: c, class: CharClass::Format, .. } if c == ch),
            "{raw:?}: {:?}",
            err(raw)
        );
    }
    assert!(matches!(
        err("user:al\u{FE0F}ice"),
        IdentityError::Forbidden {
            class: CharClass::Invisible,
            ..
        }
    ));
    assert!(matches!(
        err("user:al\u{3164}ice"),
        IdentityError::Forbidden {
            class: CharClass::Invisible,
            ..
        }
    ));
}

#[test]
fn control_whitespace_private_use_and_unassigned_are_refused() {
    let class = |s: &str| match err(s) {
        IdentityError::Forbidden { class, .. } => class,
        other => panic!("{s:?}: {other:?}"),
    };
    assert_eq!(class("user:a\u{0}b"), CharClass::Control);
    assert_eq!(class("user:a\u{1B}b"), CharClass::Control);
    // DEL, the last ASCII control: an identity from a credential has no other guard.
    assert_eq!(class("user:a\u{7F}b"), CharClass::Control);
    assert_eq!(class("user:a\nb"), CharClass::Whitespace);
    assert_eq!(class("user:alice smith"), CharClass::Whitespace);
    assert_eq!(class("user:alice\u{A0}smith"), CharClass::Whitespace);
    assert_eq!(class("user:alice\u{3000}smith"), CharClass::Whitespace);
    assert_eq!(class("user:a\u{2028}b"), CharClass::Whitespace);
    assert_eq!(class("user:a\u{E000}b"), CharClass::PrivateUse);
    assert_eq!(class("user:a\u{10FFFF}b"), CharClass::Unassigned);
}

#[test]
fn empty_and_invisible_only_are_refused() {
    assert_eq!(err(""), IdentityError::Empty);
    assert_eq!(err(" \t\u{3000}\n"), IdentityError::Empty);
    assert_eq!(err("\u{200B}\u{200D}"), IdentityError::OnlyInvisible);
    assert_eq!(err(" \u{FEFF} "), IdentityError::OnlyInvisible);
    assert_eq!(err("\u{3164}"), IdentityError::OnlyInvisible);
    assert_eq!(
        err(&"a".repeat(MAX_IDENTITY_BYTES + 1)),
        IdentityError::TooLong {
            max: MAX_IDENTITY_BYTES
        }
    );
    assert!(IdentityId::parse(&"a".repeat(MAX_IDENTITY_BYTES)).is_ok());
}

#[test]
fn normalisation_that_produces_a_space_is_refused() {
    // U+00A8 DIAERESIS is NFKC-equivalent to SPACE + COMBINING DIAERESIS.
    assert_eq!(
        err("user:a\u{A8}b"),
        IdentityError::ForbiddenAfterNormalisation {
            ch: ' ',
            class: CharClass::Whitespace,
        }
    );
}

#[test]
fn errors_read_precisely() {
    assert_eq!(
        err("user:al\u{200B}ice").to_string(),
        "contains a forbidden invisible format (zero-width, bidi or BOM) character U+200B at \
         position 7"
    );
    assert_eq!(
        err("\u{200B}").to_string(),
        "contains only invisible characters"
    );
}

#[test]
fn serde_validates_and_writes_the_canonical_form() {
    let parsed: IdentityId = serde_json::from_str("\"  User:Alice \"").unwrap();
    assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"user:alice\"");
    let refused = serde_json::from_str::<IdentityId>("\"user:al\\u200bice\"").unwrap_err();
    assert!(refused.to_string().contains("U+200B"), "{refused}");
}

#[test]
fn team_owners_are_held_through_groups_with_or_without_prefix() {
    let owner = id("team:Growth");
    let bob = id("user:bob");
    assert!(owner_held_by(&owner, &bob, &[id("growth")]));
    assert!(owner_held_by(&owner, &bob, &[id("team:growth")]));
    assert!(owner_held_by(&owner, &bob, &[id("TEAM:ＧＲＯＷＴＨ")]));
    assert!(owner_held_by(&owner, &bob, &[id("t\u{435}am:growth")])); // Cyrillic е
    assert!(owner_held_by(&owner, &bob, &[id("gr\u{43E}wth")])); // Cyrillic о
    assert!(!owner_held_by(
        &owner,
        &bob,
        &[id("growth-ops"), id("team:other")]
    ));
    assert!(!owner_held_by(&owner, &id("user:growth"), &[]));
    // A person owner is held only by that person (or a look-alike), never by a group.
    let person = id("user:carol");
    assert!(owner_held_by(&person, &id("USER:Carol"), &[]));
    assert!(owner_held_by(&person, &id("user:c\u{430}rol"), &[]));
    assert!(!owner_held_by(
        &person,
        &bob,
        &[id("user:carol"), id("carol")]
    ));
}

#[test]
fn every_ascii_character_is_judged_as_the_unicode_tables_judge_it() {
    for c in (0u8..=127).map(char::from) {
        assert_eq!(forbidden(c), forbidden_by_tables(c), "{c:?}");
    }
}

fn identity_like() -> impl Strategy<Value = String> {
    // Letters from several scripts, full-width forms, combining marks, ligatures and
    // compatibility characters: the inputs where normalisation and folding interact.
    let chars = prop::sample::select(vec![
        'a', 'A', 'l', 'I', '1', 'o', 'O', '0', 's', 'S', 'ß', 'ẞ', 'k', '\u{212A}', 'é',
        '\u{301}', '\u{308}', 'ﬁ', 'ﬀ', 'ａ', 'Ａ', 'а', 'А', 'о', 'ο', 'Ο', 'ı', 'İ', 'ǅ', 'ǆ',
        'ς', 'σ', 'Σ', 'ᾈ', 'ﬃ', 'ŉ', 'ǰ', '\u{345}', ':', '@', '.', '-', '_', 'µ', 'Ω', 'Å',
    ]);
    prop::collection::vec(chars, 1..12).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn canonicalisation_is_idempotent(raw in identity_like()) {
        if let Ok(first) = IdentityId::parse(&raw) {
            let second = IdentityId::parse(first.as_str()).unwrap();
            prop_assert_eq!(first.as_str(), second.as_str());
            prop_assert_eq!(first.skeleton(), second.skeleton());
        }
    }

    #[test]
    fn same_party_is_reflexive_and_symmetric(a in identity_like(), b in identity_like()) {
        if let (Ok(a), Ok(b)) = (IdentityId::parse(&a), IdentityId::parse(&b)) {
            prop_assert!(a.same_party(&a));
            prop_assert_eq!(a.same_party(&b), b.same_party(&a));
        }
    }

    /// `canonical_form` (what requests' identities go through) is `parse` without the
    /// skeleton: the same form, the same refusals, on look-alike-rich input and on anything.
    #[test]
    fn the_canonical_form_alone_is_what_parse_gives(
        raw in prop_oneof![identity_like(), any::<String>()],
    ) {
        prop_assert_eq!(
            IdentityId::canonical_form(&raw),
            IdentityId::parse(&raw).map(String::from)
        );
    }

    /// Comparing canonical forms alone (`same_identity`) matches comparing parsed identities.
    #[test]
    fn same_identity_is_equality_of_parsed_identities(a in identity_like(), b in identity_like()) {
        let parsed = match (IdentityId::parse(&a), IdentityId::parse(&b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        };
        prop_assert_eq!(crate::domain::same_identity(&a, &b), parsed);
    }

    /// The ASCII short cut of canonicalisation gives what the Unicode algorithms give.
    #[test]
    fn ascii_is_canonicalised_as_unicode_canonicalises_it(raw in "[\\x00-\\x7f]{0,40}") {
        prop_assert_eq!(canonicalise(&raw), canonicalise_unicode(&raw));
    }

    #[test]
    fn any_string_either_parses_cleanly_or_is_refused(raw in any::<String>()) {
        if let Ok(id) = IdentityId::parse(&raw) {
            prop_assert!(!id.as_str().is_empty());
            prop_assert!(id.as_str().chars().all(|c| forbidden(c).is_none()));
        }
    }
}
