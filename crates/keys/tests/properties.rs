//! Properties of the key format (README.md, "Keys"): generation, shape, checksum, parsing of
//! hostile input, display prefix and the redaction of secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use regex::Regex;
use regpilot_keys::{
    checksum, digest, display_prefix, generate, parse, Environment, KeyType, ParseError, ALPHABET, KEY_PATTERN,
};

/// The pattern README.md ("Keys") states, written out here rather than taken from the crate.
const README_PATTERN: &str = "^(sk|pk)_(dev|stg|prod)_[0-9A-Za-z]{38}$";

/// Characters that are not in the base62 alphabet, single- and multi-byte.
const NON_ALNUM: &[char] = &[
    '_', '-', '+', '/', '=', '.', ' ', '\t', '\n', '\0', '\u{7f}', '~', '…', 'é', 'ß', '€', '😀', '\u{200b}', 'Ａ', '٣',
];

fn spec_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(README_PATTERN).unwrap())
}

fn all_kinds() -> Vec<(KeyType, Environment)> {
    KeyType::ALL.into_iter().flat_map(|t| Environment::ALL.into_iter().map(move |e| (t, e))).collect()
}

/// A well-formed key from a chosen body, with the checksum computed by the crate.
fn key_with_body(t: KeyType, e: Environment, body: &str) -> String {
    let head = format!("{}_{}_{}", t.prefix(), e.segment(), body);
    let check = checksum(head.as_bytes());
    format!("{head}{}", std::str::from_utf8(&check).unwrap())
}

/// Every string that differs from `key` in exactly one character, the replacement drawn from
/// the base62 alphabet and from [`NON_ALNUM`].
fn single_char_mutations(key: &str) -> Vec<(usize, char, String)> {
    let chars: Vec<char> = key.chars().collect();
    let replacements: Vec<char> = ALPHABET.iter().map(|&b| b as char).chain(NON_ALNUM.iter().copied()).collect();
    let mut out = Vec::with_capacity(chars.len() * replacements.len());
    for (i, &original) in chars.iter().enumerate() {
        for &r in replacements.iter().filter(|&&r| r != original) {
            let mut m = chars.clone();
            m[i] = r;
            out.push((i, r, m.into_iter().collect::<String>()));
        }
    }
    out
}

fn assert_mutations_rejected(key: &str) -> usize {
    let mut n = 0;
    for (i, r, m) in single_char_mutations(key) {
        let got = parse(&m).map(|_| ());
        assert!(
            matches!(got, Err(ParseError::Malformed) | Err(ParseError::BadChecksum)),
            "{key} with position {i} set to {r:?} was accepted: {m}"
        );
        n += 1;
    }
    n
}

#[test]
fn the_crate_pattern_is_the_spec_pattern() {
    assert_eq!(KEY_PATTERN, README_PATTERN);
    assert_eq!(ALPHABET, b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}

#[test]
fn a_hundred_thousand_generated_keys_are_unique_well_formed_and_parse() {
    const N: usize = 100_000;
    let re = spec_regex();
    let kinds = all_kinds();
    let mut seen: HashSet<String> = HashSet::with_capacity(N);
    let mut per_kind = vec![0usize; kinds.len()];
    let mut symbol_counts = [0usize; 256];
    for i in 0..N {
        let (t, e) = kinds[i % kinds.len()];
        let key = generate(t, e).unwrap();
        let s = key.expose();
        assert!(re.is_match(s), "{s} does not match {README_PATTERN}");
        assert!(s.starts_with(&format!("{}_{}_", t.prefix(), e.segment())), "{s}");
        let parsed = parse(s).unwrap_or_else(|err| panic!("{s} does not parse: {err:?}"));
        assert_eq!((parsed.key_type, parsed.environment), (t, e));
        assert_eq!(parsed.digest(), digest(s));
        // The body: 32 characters before the 6 of the checksum.
        let body = &s.as_bytes()[s.len() - 38..s.len() - 6];
        for &b in body {
            symbol_counts[b as usize] += 1;
        }
        per_kind[i % kinds.len()] += 1;
        assert!(seen.insert(s.to_owned()), "duplicate key {s}");
    }
    assert_eq!(seen.len(), N);
    assert!(per_kind.iter().all(|&n| n == N / kinds.len() || n == N / kinds.len() + 1), "{per_kind:?}");

    // Uniform over the alphabet: 3.2M body characters give about 51,613 of each symbol with a
    // standard deviation near 225; ±5% is more than ten deviations, so this never flakes.
    let total = (N * 32) as f64;
    let expected = total / 62.0;
    for &b in ALPHABET.iter() {
        let n = symbol_counts[b as usize] as f64;
        assert!(
            (n - expected).abs() < expected * 0.05,
            "symbol {} drawn {n} times, expected about {expected}",
            b as char
        );
    }
    assert_eq!(symbol_counts.iter().sum::<usize>(), N * 32, "a body character outside the alphabet");
}

#[test]
fn every_single_character_change_is_rejected_exhaustively() {
    let mut keys: Vec<String> =
        all_kinds().into_iter().map(|(t, e)| generate(t, e).unwrap().expose().to_owned()).collect();
    // Fixed keys too, including one whose checksum starts with the padding `0`.
    keys.push(key_with_body(KeyType::Gateway, Environment::Development, "Zk9QWERTYuiop1234567890asdfghjk0"));
    keys.push(key_with_body(KeyType::Project, Environment::Production, &"0".repeat(32)));
    keys.push(key_with_body(KeyType::Gateway, Environment::Staging, &"z".repeat(32)));
    let mut total = 0;
    for key in &keys {
        assert!(parse(key).is_ok(), "{key}");
        total += assert_mutations_rejected(key);
    }
    // Sanity: the mutation set is what it claims to be.
    assert!(total > keys.len() * 40 * 70, "only {total} mutations tried");
}

#[test]
fn checksum_is_zlib_crc32_in_base62() {
    // Each expected value was produced with Python 3:
    //   c = zlib.crc32(s.encode()); then c written in base62 with the README's alphabet
    //   ("0-9A-Za-z"), most significant digit first, left-padded with '0' to 6 characters.
    let cases: &[(&str, u32, &str)] = &[
        ("sk_prod_0123456789ABCDEFGHIJKLMNOPQRSTUV", 1_066_070_699, "1A97gh"),
        ("pk_dev_abcdefghijklmnopqrstuvwxyzABCDEF", 2_740_851_545, "2zUKgz"),
        ("sk_stg_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 3_683_200_737, "41GKlV"),
        ("pk_prod_00000000000000000000000000000000", 3_925_297_840, "4He9HU"),
        // CRC below 62^5: the leading padding digit is visible.
        ("sk_dev_Zk9QWERTYuiop1234567890asdfghjk0", 706_367_511, "0lnqSN"),
        // The standard CRC-32 check value 0xCBF43926.
        ("123456789", 0xCBF4_3926, "3jZRME"),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339, "1C9bYH"),
        ("a", 3_904_355_907, "4GEHKN"),
        ("", 0, "000000"),
    ];
    for &(input, crc, expected) in cases {
        assert_eq!(std::str::from_utf8(&checksum(input.as_bytes())).unwrap(), expected, "checksum of {input:?}");
        assert_eq!(base62_6(crc), expected, "the test's own base62 of {crc}");
    }
    // The key-shaped inputs, completed with their checksum, are accepted; with any other
    // checksum they are refused as such.
    for &(input, _, expected) in &cases[..5] {
        let key = format!("{input}{expected}");
        assert!(parse(&key).is_ok(), "{key}");
        let wrong = format!("{input}{}", if expected == "000000" { "000001" } else { "000000" });
        assert_eq!(parse(&wrong).unwrap_err(), ParseError::BadChecksum, "{wrong}");
    }
}

/// Base62, 6 digits, written independently of the crate.
fn base62_6(mut v: u32) -> String {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(v % 62) as usize];
        v /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn checksum_of_generated_keys_is_the_crc_of_everything_before_it() {
    for (t, e) in all_kinds() {
        for _ in 0..50 {
            let key = generate(t, e).unwrap();
            let s = key.expose();
            let (head, check) = s.split_at(s.len() - 6);
            assert_eq!(check.as_bytes(), &checksum(head.as_bytes()));
            assert_eq!(check, base62_6(crc32_reference(head.as_bytes())));
        }
    }
}

/// Bitwise CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): a reference independent of
/// the crate's `crc32fast`.
fn crc32_reference(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn rejects_near_misses_with_the_right_reason() {
    let good = key_with_body(KeyType::Gateway, Environment::Production, "0123456789ABCDEFGHIJKLMNOPQRSTUV");
    assert_eq!(good, "sk_prod_0123456789ABCDEFGHIJKLMNOPQRSTUV1A97gh");
    let malformed = [
        String::new(),
        "sk_".into(),
        "sk_prod_".into(),
        good[..good.len() - 1].to_owned(),
        format!("{good}0"),
        format!(" {good}"),
        format!("{good}\n"),
        good.to_uppercase(),
        good.replacen("sk_", "SK_", 1),
        good.replacen("prod", "live", 1),
        good.replacen("prod", "production", 1),
        good.replacen("sk_prod_", "sk-prod-", 1),
        good.replacen("sk_prod_", "rk_prod_", 1),
        good.replacen("sk_prod_", "sk__prod_", 1),
        format!("Bearer {good}"),
    ];
    for s in &malformed {
        assert_eq!(parse(s).map(|_| ()), Err(ParseError::Malformed), "{s:?}");
    }
    // Swapping two different adjacent characters of the body keeps the shape, not the checksum.
    let mut swapped = good.clone().into_bytes();
    swapped.swap(10, 11);
    assert_eq!(parse(std::str::from_utf8(&swapped).unwrap()).map(|_| ()), Err(ParseError::BadChecksum));
    // A valid checksum moved onto another type or environment no longer matches.
    assert_eq!(parse(&good.replacen("sk_", "pk_", 1)).map(|_| ()), Err(ParseError::BadChecksum));
    assert_eq!(ParseError::Malformed.as_str(), "malformed");
    assert_eq!(ParseError::BadChecksum.as_str(), "bad_checksum");
}

#[test]
fn parse_survives_very_long_and_odd_strings() {
    let good = generate(KeyType::Project, Environment::Staging).unwrap();
    let long_inputs = [
        "a".repeat(10_000_000),
        format!("{}{}", good.expose(), "x".repeat(1_000_000)),
        "sk_prod_".repeat(200_000),
        "😀".repeat(1_000_000),
        "\0".repeat(100_000),
        format!("sk_prod_{}", "é".repeat(19)), // 38 bytes of non-ASCII after a good prefix
        format!("sk_prod_{}", "€".repeat(12)) + "01", // 38 bytes again, mixed
    ];
    for s in &long_inputs {
        assert_eq!(parse(s).map(|_| ()), Err(ParseError::Malformed), "{}", s.chars().take(40).collect::<String>());
    }
}

#[test]
fn display_prefix_is_first_twelve_and_last_four() {
    for (t, e) in all_kinds() {
        for _ in 0..100 {
            let key = generate(t, e).unwrap();
            let s = key.expose();
            let shown = display_prefix(&key);
            assert_eq!(shown, format!("{}…{}", &s[..12], &s[s.len() - 4..]));
            assert_eq!(shown.chars().count(), 17);
            let (head, tail) = shown.split_once('…').unwrap();
            assert!(s.starts_with(head) && s.ends_with(tail));
            // The prefix never reveals the body: at most 4 characters of it for `sk_prod_`.
            assert!(!shown.contains(&s[12..s.len() - 4]));
        }
    }
}

#[test]
fn debug_and_display_of_a_secret_never_show_it() {
    for (t, e) in all_kinds() {
        let key = generate(t, e).unwrap();
        let s = key.expose().to_owned();
        let body = &s[s.len() - 38..];
        let parsed = parse(&s).unwrap();
        for shown in [
            format!("{key:?}"),
            format!("{key:#?}"),
            format!("{key}"),
            format!("{key:>80}"),
            format!("{:?}", Some(&key)),
            format!("{:?}", vec![key.clone()]),
            format!("{parsed:?}"),
            format!("{:?}", parsed.digest()),
            format!("{:?}", digest(&s)),
        ] {
            assert!(!shown.contains(&s), "{shown}");
            // Not even a window of the random part.
            for w in body.as_bytes().windows(8) {
                assert!(!shown.contains(std::str::from_utf8(w).unwrap()), "{shown} shows part of the secret");
            }
            assert!(!shown.contains(&digest(&s).to_hex()[..16]), "{shown} shows the digest");
        }
    }
}

fn key_type() -> impl Strategy<Value = KeyType> {
    prop_oneof![Just(KeyType::Gateway), Just(KeyType::Project)]
}

fn environment() -> impl Strategy<Value = Environment> {
    prop_oneof![Just(Environment::Development), Just(Environment::Staging), Just(Environment::Production)]
}

fn base62_body() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET.to_vec()), 32).prop_map(|v| String::from_utf8(v).unwrap())
}

/// Any character other than `not`: base62, other ASCII, or any Unicode scalar.
fn replacement_for(not: char) -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(ALPHABET.to_vec()).prop_map(char::from),
        prop::sample::select(NON_ALNUM.to_vec()),
        any::<char>(),
    ]
    .prop_filter("must differ", move |&c| c != not)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn a_key_with_a_valid_checksum_parses_to_its_type_and_environment(
        t in key_type(), e in environment(), body in base62_body()
    ) {
        let key = key_with_body(t, e, &body);
        prop_assert!(spec_regex().is_match(&key));
        let parsed = parse(&key).unwrap();
        prop_assert_eq!((parsed.key_type, parsed.environment), (t, e));
        prop_assert_eq!(parsed.digest(), digest(&key));
    }

    #[test]
    fn one_changed_character_of_a_random_key_is_rejected(
        (key, pos, replacement) in (key_type(), environment(), base62_body())
            .prop_map(|(t, e, body)| key_with_body(t, e, &body))
            .prop_flat_map(|key| {
                let len = key.len();
                (Just(key), 0..len)
            })
            .prop_flat_map(|(key, pos)| {
                let original = key.as_bytes()[pos] as char;
                (Just(key), Just(pos), replacement_for(original))
            })
    ) {
        let mut chars: Vec<char> = key.chars().collect();
        chars[pos] = replacement;
        let mutated: String = chars.into_iter().collect();
        let got = parse(&mutated).map(|_| ());
        prop_assert!(
            matches!(got, Err(ParseError::Malformed) | Err(ParseError::BadChecksum)),
            "{} accepted after setting position {} to {:?}", mutated, pos, replacement
        );
    }

    #[test]
    fn one_changed_character_of_a_generated_key_is_rejected(
        t in key_type(), e in environment(), pos in 0usize..46, r in any::<char>()
    ) {
        let key = generate(t, e).unwrap();
        let mut chars: Vec<char> = key.expose().chars().collect();
        let pos = pos % chars.len();
        prop_assume!(chars[pos] != r);
        chars[pos] = r;
        let mutated: String = chars.into_iter().collect();
        prop_assert!(parse(&mutated).is_err(), "{} accepted", mutated);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse(&s);
        // Bytes that happen to be valid UTF-8 as well.
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = parse(s);
        }
    }

    #[test]
    fn parse_never_panics_on_long_unicode(s in "\\PC{0,300}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_very_long_strings(
        (unit, times) in ("\\PC{1,40}", 1usize..50_000), key_like in any::<bool>()
    ) {
        // A short random piece repeated: up to about 8 MB without generating it char by char.
        let s = if key_like { format!("sk_prod_{}", unit.repeat(times)) } else { unit.repeat(times) };
        let r = parse(&s);
        if s.len() > 46 {
            prop_assert_eq!(r.map(|_| ()), Err(ParseError::Malformed));
        }
    }

    #[test]
    fn parse_never_panics_on_key_like_strings(
        s in "(sk|pk|SK|xk)?_?(dev|stg|prod|live)?_?[0-9A-Za-z_\\-éü€😀]{0,60}"
    ) {
        let r = parse(&s);
        // Whatever it says, an accepted string has the shape of README.md, "Keys".
        if r.is_ok() {
            prop_assert!(spec_regex().is_match(&s), "{} accepted", s);
        }
    }

    #[test]
    fn parse_accepts_only_strings_of_the_spec_shape_with_their_crc(
        head in "(sk|pk)_(dev|stg|prod)_[0-9A-Za-z]{32}", check in "[0-9A-Za-z]{6}"
    ) {
        let s = format!("{head}{check}");
        let expected = base62_6(crc32_reference(head.as_bytes()));
        prop_assert_eq!(parse(&s).is_ok(), check == expected);
        if check != expected {
            prop_assert_eq!(parse(&s).map(|_| ()), Err(ParseError::BadChecksum));
        }
    }
}
