//! The secret format of README.md, "Keys": `{sk|pk}_{dev|stg|prod}_{body}{check}`.
//!
//! `body` is 32 base62 characters from the OS CSPRNG; `check` is the CRC-32 (IEEE) of every
//! byte before it, in base62, 6 characters. The checksum only lets a scanner or the server
//! reject strings that are not keys without any lookup: it is not a security control.

use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use sha2::{Digest as _, Sha256};

use crate::base62::{encode_padded, is_base62, random_base62};
use crate::{Environment, KeyType, SecretKey};

/// The shape every key matches.
pub const KEY_PATTERN: &str = "^(sk|pk)_(dev|stg|prod)_[0-9A-Za-z]{38}$";

const BODY_LEN: usize = 32;
const CHECK_LEN: usize = 6;
/// Longest possible key: `sk_prod_` + 38.
const MAX_LEN: usize = 8 + BODY_LEN + CHECK_LEN;

/// Why a string is not a well-formed key. Kept for logs and metrics; the HTTP answer is the
/// same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Wrong prefix, environment, length or alphabet.
    Malformed,
    /// The right shape, but the checksum does not match.
    BadChecksum,
}

impl ParseError {
    pub fn as_str(self) -> &'static str {
        match self {
            ParseError::Malformed => "malformed",
            ParseError::BadChecksum => "bad_checksum",
        }
    }
}

/// A string that has the key format and a valid checksum.
#[derive(Clone, Copy)]
pub struct ParsedKey<'a> {
    pub key_type: KeyType,
    pub environment: Environment,
    raw: &'a str,
}

impl<'a> ParsedKey<'a> {
    pub fn digest(&self) -> KeyDigest {
        digest(self.raw)
    }
}

impl fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedKey")
            .field("key_type", &self.key_type)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

/// The CRC-32 of `bytes`, as the 6 base62 characters the format appends.
pub fn checksum(bytes: &[u8]) -> [u8; CHECK_LEN] {
    encode_padded::<CHECK_LEN>(u64::from(crc32fast::hash(bytes)))
}

/// Checks format and checksum. No I/O, no allocation; never panics on any input.
pub fn parse(s: &str) -> Result<ParsedKey<'_>, ParseError> {
    let bytes = s.as_bytes();
    if bytes.len() > MAX_LEN {
        return Err(ParseError::Malformed);
    }
    let (key_type, rest) = match bytes {
        [b's', b'k', b'_', rest @ ..] => (KeyType::Gateway, rest),
        [b'p', b'k', b'_', rest @ ..] => (KeyType::Project, rest),
        _ => return Err(ParseError::Malformed),
    };
    let (environment, tail) = match rest {
        [b'd', b'e', b'v', b'_', tail @ ..] => (Environment::Development, tail),
        [b's', b't', b'g', b'_', tail @ ..] => (Environment::Staging, tail),
        [b'p', b'r', b'o', b'd', b'_', tail @ ..] => (Environment::Production, tail),
        _ => return Err(ParseError::Malformed),
    };
    if tail.len() != BODY_LEN + CHECK_LEN || !tail.iter().all(|&b| is_base62(b)) {
        return Err(ParseError::Malformed);
    }
    let split = bytes.len() - CHECK_LEN;
    if checksum(&bytes[..split]) != bytes[split..] {
        return Err(ParseError::BadChecksum);
    }
    Ok(ParsedKey { key_type, environment, raw: s })
}

/// A new secret of the given type and environment.
pub fn generate(key_type: KeyType, environment: Environment) -> Result<SecretKey, getrandom::Error> {
    let mut s = String::with_capacity(MAX_LEN);
    s.push_str(key_type.prefix());
    s.push('_');
    s.push_str(environment.segment());
    s.push('_');
    s.push_str(&random_base62(BODY_LEN)?);
    let check = checksum(s.as_bytes());
    s.extend(check.iter().map(|&b| b as char));
    Ok(SecretKey::new(s))
}

/// The first 12 and last 4 characters, e.g. `sk_prod_7Fq2…x9Zk`. Only for well-formed keys.
pub fn display_prefix(secret: &SecretKey) -> String {
    display_prefix_of(secret.expose())
}

/// The display prefix of any secret string (keys and admin tokens, as a scanner finds them).
pub fn display_prefix_of(s: &str) -> String {
    let head: String = s.chars().take(12).collect();
    let tail: String = s.chars().skip(s.chars().count().saturating_sub(4)).collect();
    format!("{head}…{tail}")
}

/// The SHA-256 of a secret: the only form of it the store keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyDigest(pub [u8; 32]);

/// Digests any string (call it only on strings that passed [`parse`]).
pub fn digest(secret: &str) -> KeyDigest {
    KeyDigest(Sha256::digest(secret.as_bytes()).into())
}

impl KeyDigest {
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for b in self.0 {
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        }
        out
    }

    pub fn from_hex(s: &str) -> Option<KeyDigest> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(KeyDigest(out))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Digests are uniformly distributed, so their first 8 bytes are already a good hash.
impl Hash for KeyDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(<redacted>)")
    }
}

/// A hasher for maps keyed by [`KeyDigest`]: passes the digest's own bits through.
#[derive(Default, Clone, Copy)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached by types other than KeyDigest; fold the bytes in (FNV-1a).
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `BuildHasher` for `HashMap<KeyDigest, _, DigestBuildHasher>`.
pub type DigestBuildHasher = BuildHasherDefault<DigestHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_have_the_shape() {
        for t in KeyType::ALL {
            for e in Environment::ALL {
                let k = generate(t, e).unwrap();
                let p = parse(k.expose()).unwrap();
                assert_eq!((p.key_type, p.environment), (t, e));
                assert_eq!(k.expose().len(), 3 + e.segment().len() + 1 + 38);
            }
        }
    }

    #[test]
    fn checksum_matches_zlib_crc32() {
        // Expected value computed independently with Python's zlib.crc32 and the alphabet of
        // README.md, "Keys".
        assert_eq!(&checksum(b"sk_prod_0123456789ABCDEFGHIJKLMNOPQRSTUV"), b"1A97gh");
        assert!(parse("sk_prod_0123456789ABCDEFGHIJKLMNOPQRSTUV1A97gh").is_ok());
    }

    #[test]
    fn display_prefix_is_first_twelve_and_last_four() {
        let k = generate(KeyType::Gateway, Environment::Production).unwrap();
        let s = k.expose();
        assert_eq!(display_prefix(&k), format!("{}…{}", &s[..12], &s[s.len() - 4..]));
    }

    #[test]
    fn rejects_by_reason() {
        assert_eq!(parse("").unwrap_err(), ParseError::Malformed);
        assert_eq!(parse("sk_live_0123456789ABCDEFGHIJKLMNOPQRSTUV012345").unwrap_err(), ParseError::Malformed);
        assert_eq!(parse("sk_prod_0123456789ABCDEFGHIJKLMNOPQRSTUV000000").unwrap_err(), ParseError::BadChecksum);
        assert_eq!(parse("sk_prod_0123456789ABCDEFGHIJKLMNOPQRSTU-000000").unwrap_err(), ParseError::Malformed);
    }

    #[test]
    fn digest_hex_round_trips_and_debug_is_redacted() {
        let d = digest("sk_dev_x");
        assert_eq!(KeyDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(KeyDigest::from_hex("zz"), None);
        assert!(!format!("{d:?}").contains(&d.to_hex()[..8]));
    }
}
