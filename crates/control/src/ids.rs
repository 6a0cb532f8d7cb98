//! Record ids: a short type prefix and 16 random base62 characters (about 95 bits).
//!
//! Ids of append-heavy tables (Governor audits) lead with the time instead, so that each new row
//! lands at the end of the primary-key B-tree rather than at a random page of it: on SQLite
//! that halves the CPU cost of a batch of audit inserts (bench/README.md).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::ControlError;

pub(crate) fn new_id(prefix: &str) -> Result<String, ControlError> {
    let body = random(16)?;
    Ok(format!("{prefix}_{body}"))
}

/// `prefix_` + the Unix time in milliseconds as 8 base62 digits (ordered like the numbers, as
/// the alphabet is in ASCII order; 62^8 ms is about 6,900 years) + 12 random characters
/// (about 71 bits, so ids made in the same millisecond do not collide).
pub(crate) fn new_time_ordered_id(prefix: &str) -> Result<String, ControlError> {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut out = String::with_capacity(prefix.len() + 21);
    out.push_str(prefix);
    out.push('_');
    let mut digits = [b'0'; 8];
    let mut rest = ms;
    for slot in digits.iter_mut().rev() {
        *slot = regpilot_keys::ALPHABET[(rest % 62) as usize];
        rest /= 62;
    }
    out.extend(digits.iter().map(|&b| char::from(b)));
    out.push_str(&random(12)?);
    Ok(out)
}

fn random(len: usize) -> Result<String, ControlError> {
    regpilot_keys::random_base62(len).map_err(|e| ControlError::Internal(format!("OS random source: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn time_ordered_ids_sort_by_time_and_differ() {
        let a = new_time_ordered_id("gva").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_time_ordered_id("gva").unwrap();
        assert!(a.starts_with("gva_") && a.len() == 4 + 20, "{a}");
        assert!(a.bytes().skip(4).all(|c| c.is_ascii_alphanumeric()));
        assert!(a < b, "{a} !< {b}");
        let same_ms: std::collections::HashSet<_> = (0..1000).map(|_| new_time_ordered_id("gva").unwrap()).collect();
        assert_eq!(same_ms.len(), 1000);
    }
}
