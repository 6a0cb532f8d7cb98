//! Base62 with the alphabet `0-9A-Za-z`, and uniform random strings over it.

/// `0`=0 … `9`=9, `A`=10 … `Z`=35, `a`=36 … `z`=61.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Writes `value` in base62, most significant digit first, left-padded with `0`.
pub(crate) fn encode_padded<const N: usize>(mut value: u64) -> [u8; N] {
    let mut out = [b'0'; N];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    out
}

pub(crate) fn is_base62(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `len` characters drawn uniformly from [`ALPHABET`] with the OS CSPRNG.
///
/// Rejection sampling: a byte is used only when it is below 248 (= 4·62), so `byte % 62` is
/// exactly uniform.
pub fn random_base62(len: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(len);
    let mut pool = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut pool)?;
        for &b in pool.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(ALPHABET[(b % 62) as usize] as char);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_known_values() {
        assert_eq!(&encode_padded::<6>(0), b"000000");
        assert_eq!(&encode_padded::<6>(61), b"00000z");
        assert_eq!(&encode_padded::<6>(62), b"000010");
        // u32::MAX = 4294967295 = 4·62^5 + 42·62^4 + 40·62^3 + 5·62^2 + 7·62 + 35
        assert_eq!(&encode_padded::<6>(u32::MAX as u64), b"4gfFC3");
    }

    #[test]
    fn random_strings_have_the_length_and_alphabet() {
        for len in [0, 1, 32, 200] {
            let s = random_base62(len).unwrap();
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(is_base62));
        }
    }
}
