//! Personal admin tokens of dashboard users (README.md, "Admin API"): `rpa_{body}{check}`.
//!
//! The same construction as keys — 32 base62 characters from the OS CSPRNG, then the CRC-32
//! (IEEE) of everything before it in 6 base62 characters — under a prefix of their own, so a
//! scanner tells them from keys and rejects look-alikes without any lookup. The store keeps
//! only their SHA-256 digest ([`crate::digest`]).

use crate::base62::{is_base62, random_base62};
use crate::format::{checksum, display_prefix_of};
use crate::SecretKey;

/// The prefix every admin token starts with.
pub const ADMIN_TOKEN_PREFIX: &str = "rpa_";
/// The shape every admin token matches.
pub const ADMIN_TOKEN_PATTERN: &str = "^rpa_[0-9A-Za-z]{38}$";

const BODY_LEN: usize = 32;
const CHECK_LEN: usize = 6;
/// `rpa_` + 38.
pub const ADMIN_TOKEN_LEN: usize = ADMIN_TOKEN_PREFIX.len() + BODY_LEN + CHECK_LEN;

/// Whether `s` has the admin token format and a valid checksum. No I/O, no allocation; never
/// panics on any input.
pub fn is_admin_token(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() != ADMIN_TOKEN_LEN || !s.starts_with(ADMIN_TOKEN_PREFIX) {
        return false;
    }
    let (head, check) = bytes.split_at(ADMIN_TOKEN_LEN - CHECK_LEN);
    head[ADMIN_TOKEN_PREFIX.len()..].iter().all(|&b| is_base62(b))
        && check.iter().all(|&b| is_base62(b))
        && checksum(head) == check
}

/// A new admin token.
pub fn generate_admin_token() -> Result<SecretKey, getrandom::Error> {
    let mut s = String::with_capacity(ADMIN_TOKEN_LEN);
    s.push_str(ADMIN_TOKEN_PREFIX);
    s.push_str(&random_base62(BODY_LEN)?);
    let check = checksum(s.as_bytes());
    s.extend(check.iter().map(|&b| b as char));
    Ok(SecretKey::new(s))
}

/// The first 12 and last 4 characters, as for keys: `rpa_7Fq2aB9c…x9Zk`.
pub fn admin_token_display_prefix(token: &SecretKey) -> String {
    display_prefix_of(token.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_look_like_the_pattern() {
        let re = regex::Regex::new(ADMIN_TOKEN_PATTERN).unwrap();
        for _ in 0..200 {
            let t = generate_admin_token().unwrap();
            assert!(re.is_match(t.expose()), "{}", t.expose());
            assert!(is_admin_token(t.expose()));
            assert!(crate::parse(t.expose()).is_err(), "an admin token is not a key");
        }
    }

    #[test]
    fn a_changed_character_or_length_is_refused() {
        let t = generate_admin_token().unwrap();
        let s = t.expose();
        for i in 4..s.len() {
            let mut b = s.as_bytes().to_vec();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(b).unwrap();
            assert!(!is_admin_token(&changed), "position {i}");
        }
        assert!(!is_admin_token(&s[..s.len() - 1]));
        assert!(!is_admin_token(&format!("{s}A")));
        assert!(!is_admin_token(&s.replacen("rpa_", "rpb_", 1)));
        assert!(!is_admin_token(""));
        assert!(!is_admin_token("rpa_é"));
    }

    #[test]
    fn display_prefix_hides_the_middle() {
        let t = generate_admin_token().unwrap();
        let p = admin_token_display_prefix(&t);
        assert!(p.starts_with("rpa_") && p.contains('…'));
        assert_eq!(p.chars().count(), 12 + 1 + 4);
    }
}
