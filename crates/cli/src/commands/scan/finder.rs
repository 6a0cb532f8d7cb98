//! Finding keys and admin tokens in a stream of bytes (README.md, "Secret scanning"): a SIMD
//! substring search for `k_` (the `sk_`/`pk_` prefixes) and `rpa_`, then the format and the
//! CRC-32 checksum of each candidate, so only real keys count. Read in chunks through one
//! reused buffer; a candidate cut by a chunk's end is looked at again with the next chunk.

use std::io::{self, Read};

use memchr::memmem;

use regpilot_control::SecretKind;

/// A key or admin token is at most `sk_prod_` + 38 = 46 bytes; one more for the byte after it
/// (which must not continue the word). Everything past a chunk's last `CARRY` bytes is final.
const MAX_TOKEN: usize = 46;
const CARRY: usize = MAX_TOKEN + 1;
/// Bytes looked at for a NUL to tell a binary file (as git and ripgrep do).
pub const BINARY_PROBE: usize = 8 * 1024;

/// Where a secret was found. `line` and `column` start at 1; the column counts Unicode code
/// points (SARIF's `unicodeCodePoints`).
#[derive(Clone)]
pub struct Hit {
    pub kind: SecretKind,
    pub line: u64,
    pub column: u64,
    /// The string itself. Kept for digesting and `--report`; never printed.
    pub secret: String,
}

impl std::fmt::Debug for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hit").field("kind", &self.kind).field("line", &self.line).field("column", &self.column).finish()
    }
}

/// What reading one input gave.
pub enum Scanned {
    Text {
        hits: Vec<Hit>,
        bytes: u64,
    },
    /// A NUL byte in the first 8 KiB.
    Binary,
}

/// The search state, reused across inputs so the buffer and finders are built once.
pub struct Finder {
    buf: Vec<u8>,
    chunk: usize,
    keys: memmem::Finder<'static>,
    tokens: memmem::Finder<'static>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Line position of the bytes already passed: lines seen, and the code points since the last
/// newline.
struct Position {
    line: u64,
    column_chars: u64,
}

fn code_points(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count() as u64
}

impl Position {
    /// Moves over `bytes`.
    fn advance(&mut self, bytes: &[u8]) {
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
                self.column_chars = code_points(&bytes[last + 1..]);
            }
            None => self.column_chars += code_points(bytes),
        }
    }
}

impl Finder {
    pub fn new() -> Finder {
        Finder::with_chunk(1 << 20)
    }

    /// A small `chunk` exercises the carry between chunks (tests).
    pub fn with_chunk(chunk: usize) -> Finder {
        let chunk = chunk.max(BINARY_PROBE);
        Finder {
            buf: Vec::new(),
            chunk,
            keys: memmem::Finder::new(b"k_").into_owned(),
            tokens: memmem::Finder::new(b"rpa_").into_owned(),
        }
    }

    /// Reads `input` to its end. With `skip_binary`, stops after the first chunk of a binary.
    pub fn scan(&mut self, input: &mut dyn Read, skip_binary: bool) -> io::Result<Scanned> {
        let mut buf = std::mem::take(&mut self.buf);
        // Allocated (and zeroed) once: each round reads into it in place.
        buf.resize(self.chunk + CARRY + 1, 0);
        let result = self.scan_with(&mut buf, input, skip_binary);
        self.buf = buf;
        result
    }

    fn scan_with(&self, buf: &mut [u8], input: &mut dyn Read, skip_binary: bool) -> io::Result<Scanned> {
        let mut hits = Vec::new();
        let mut pos = Position { line: 1, column_chars: 0 };
        let mut total = 0u64;
        // `buf[..from]` is context already scanned (the byte before the first new start), and
        // `buf[..len]` holds data.
        let (mut from, mut len) = (0usize, 0usize);
        let mut first = true;
        loop {
            let filled = fill(buf, len, input)?;
            total += filled as u64;
            len += filled;
            let eof = len < buf.len();
            let data = &buf[..len];
            if first && skip_binary && memchr::memchr(0, &data[..len.min(BINARY_PROBE)]).is_some() {
                return Ok(Scanned::Binary);
            }
            first = false;
            // Starts before `until` are decided in this round; the rest come back with the next.
            let until = if eof { len } else { len - CARRY };
            let mut cursor = from;
            let mut found = self.candidates(data, from, until);
            found.sort_unstable_by_key(|(start, _)| *start);
            for (start, kind) in found {
                pos.advance(&data[cursor..start]);
                cursor = start;
                let end = start + token_len(data, start, kind);
                hits.push(Hit {
                    kind,
                    line: pos.line,
                    column: pos.column_chars + 1,
                    secret: String::from_utf8_lossy(&data[start..end]).into_owned(),
                });
            }
            pos.advance(&data[cursor..until]);
            if eof {
                return Ok(Scanned::Text { hits, bytes: total });
            }
            // Keep the undecided tail and the one byte before it.
            let keep_from = until - 1;
            buf.copy_within(keep_from..len, 0);
            len -= keep_from;
            from = 1;
        }
    }

    /// Starts in `[from, until)` of checksum-valid keys and tokens, with their kinds. The
    /// windows reach past `until` so a prefix that begins before it is not cut.
    fn candidates(&self, buf: &[u8], from: usize, until: usize) -> Vec<(usize, SecretKind)> {
        let mut out = Vec::new();
        // "k_" at i: the key starts at i - 1 (`s` or `p`).
        let (lo, hi) = (from + 1, (until + 2).min(buf.len()));
        if lo < hi {
            for i in self.keys.find_iter(&buf[lo..hi]) {
                let start = lo + i - 1;
                if start < until && matches!(buf[start], b's' | b'p') && check(buf, start, SecretKind::ApiKey) {
                    out.push((start, SecretKind::ApiKey));
                }
            }
        }
        let hi = (until + 3).min(buf.len());
        if from < hi {
            for i in self.tokens.find_iter(&buf[from..hi]) {
                let start = from + i;
                if start < until && check(buf, start, SecretKind::AdminToken) {
                    out.push((start, SecretKind::AdminToken));
                }
            }
        }
        out
    }
}

/// Reads into `buf[len..]` until it is full or the input ends; returns the bytes read.
fn fill(buf: &mut [u8], len: usize, input: &mut dyn Read) -> io::Result<usize> {
    let mut at = len;
    while at < buf.len() {
        match input.read(&mut buf[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(at - len)
}

/// The candidate's length by its prefix: `sk_prod_` keys are 46 bytes, other keys 45, tokens 42.
fn token_len(buf: &[u8], start: usize, kind: SecretKind) -> usize {
    match kind {
        SecretKind::AdminToken => regpilot_keys::ADMIN_TOKEN_LEN,
        SecretKind::ApiKey if buf[start + 3..].starts_with(b"prod_") => MAX_TOKEN,
        SecretKind::ApiKey => MAX_TOKEN - 1,
    }
}

/// A whole word at `start` with the kind's format and a valid checksum.
fn check(buf: &[u8], start: usize, kind: SecretKind) -> bool {
    if start > 0 && is_word(buf[start - 1]) {
        return false;
    }
    let len = match kind {
        SecretKind::ApiKey => {
            let seg = &buf[start + 3..];
            if seg.starts_with(b"prod_") {
                MAX_TOKEN
            } else if seg.starts_with(b"dev_") || seg.starts_with(b"stg_") {
                MAX_TOKEN - 1
            } else {
                return false;
            }
        }
        SecretKind::AdminToken => regpilot_keys::ADMIN_TOKEN_LEN,
    };
    let end = start + len;
    if end > buf.len() || buf.get(end).is_some_and(|&b| is_word(b)) {
        return false;
    }
    let Ok(s) = std::str::from_utf8(&buf[start..end]) else { return false };
    SecretKind::of(s) == Some(kind)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use regpilot_keys::{generate, generate_admin_token, Environment, KeyType};

    fn scan_all(finder: &mut Finder, text: &[u8]) -> Vec<(SecretKind, u64, u64, String)> {
        match finder.scan(&mut &text[..], true).unwrap() {
            Scanned::Text { hits, bytes } => {
                assert_eq!(bytes, text.len() as u64);
                hits.into_iter().map(|h| (h.kind, h.line, h.column, h.secret)).collect()
            }
            Scanned::Binary => panic!("binary"),
        }
    }

    fn secrets() -> (String, String, String) {
        (
            generate(KeyType::Gateway, Environment::Production).unwrap().expose().to_owned(),
            generate(KeyType::Project, Environment::Development).unwrap().expose().to_owned(),
            generate_admin_token().unwrap().expose().to_owned(),
        )
    }

    #[test]
    fn finds_whole_words_with_valid_checksums_only() {
        let (sk, pk, rpa) = secrets();
        let mut broken = sk.clone();
        broken.pop();
        broken.push(if sk.ends_with('A') { 'B' } else { 'A' });
        let text =
            format!("KEY={sk}\n  é \"{pk}\" x{sk} {sk}x {broken}\n{rpa}\nsk_prod_short pk_live_{}\n_{rpa}", &sk[8..]);
        let found = scan_all(&mut Finder::new(), text.as_bytes());
        assert_eq!(
            found,
            vec![
                (SecretKind::ApiKey, 1, 5, sk.clone()),
                (SecretKind::ApiKey, 2, 6, pk.clone()),
                (SecretKind::AdminToken, 3, 1, rpa.clone()),
            ]
        );
    }

    #[test]
    fn chunk_boundaries_change_nothing() {
        let (sk, pk, rpa) = secrets();
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&"ä".repeat(i % 7));
            match i % 5 {
                0 => text.push_str(&sk),
                1 => text.push_str(&pk),
                2 => text.push_str(&rpa),
                _ => text.push_str("no secret here_k_ rpa_ sk_"),
            }
            text.push(if i % 3 == 0 { '\n' } else { ' ' });
        }
        let whole = scan_all(&mut Finder::with_chunk(1 << 24), text.as_bytes());
        assert_eq!(whole.len(), 1800);
        for chunk in [BINARY_PROBE, BINARY_PROBE + 1, BINARY_PROBE + 17, 3 * BINARY_PROBE - 5] {
            let mut f = Finder::with_chunk(chunk);
            assert_eq!(scan_all(&mut f, text.as_bytes()), whole, "chunk {chunk}");
            // The finder is reused: a second input starts afresh.
            assert_eq!(scan_all(&mut f, sk.as_bytes()), vec![(SecretKind::ApiKey, 1, 1, sk.clone())]);
        }
    }

    #[test]
    fn a_nul_in_the_first_8_kib_is_a_binary() {
        let (sk, _, _) = secrets();
        let mut data = vec![b'a'; 100];
        data.push(0);
        data.extend_from_slice(sk.as_bytes());
        assert!(matches!(Finder::new().scan(&mut &data[..], true).unwrap(), Scanned::Binary));
        assert_eq!(scan_all(&mut Finder::new(), &data[..100]).len(), 0);
        let mut late = vec![b'a'; BINARY_PROBE];
        late.push(0);
        late.extend_from_slice(format!(" {sk}").as_bytes());
        assert_eq!(scan_all(&mut Finder::new(), &late).len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic_and_only_valid_strings_are_found(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4000)) {
            if let Scanned::Text { hits, .. } = Finder::with_chunk(BINARY_PROBE).scan(&mut &data[..], false).unwrap() {
                for h in hits {
                    proptest::prop_assert!(SecretKind::of(&h.secret).is_some());
                }
            }
        }
    }
}
