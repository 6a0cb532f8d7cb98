//! Country of a client address, from a MaxMind-format (`.mmdb`) country database
//! (`REGPILOT_GEOIP_DB`). Both common layouts are read: MaxMind's GeoIP2/GeoLite2 Country
//! (`country.iso_code`) and the ip-location-db packages (`country_code`). Without a database,
//! or for an address it does not know (private ranges, loopback), the country is `unknown`.
//!
//! Lookups run in the usage recorder, off the request path.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

/// The country recorded when none can be found.
pub(crate) const UNKNOWN: &str = "unknown";

pub(crate) struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Country<'a>>,
    country_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
}

impl GeoIp {
    /// Reads the whole database into memory (a country database is a few megabytes).
    pub(crate) fn open(path: &Path) -> Result<GeoIp, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("cannot read the GeoIP database {}: {e}", path.display()))?;
        Ok(GeoIp { reader })
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Result<GeoIp, String> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| format!("not a MaxMind database: {e}"))?;
        Ok(GeoIp { reader })
    }

    pub(crate) fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The ISO 3166 alpha-2 code (upper case), or `None` when the database has no answer.
    pub(crate) fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.reader.lookup(ip).ok()?;
        let record: Record<'_> = found.decode().ok()??;
        let code = record.country.and_then(|c| c.iso_code).or(record.country_code)?;
        (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())).then(|| code.to_ascii_uppercase())
    }
}

/// The country to record for an optional address and optional database.
pub(crate) fn country_of(geo: Option<&GeoIp>, ip: Option<IpAddr>) -> String {
    match (geo, ip) {
        (Some(g), Some(ip)) => g.country(ip).unwrap_or_else(|| UNKNOWN.to_owned()),
        _ => UNKNOWN.to_owned(),
    }
}

/// Writes small IPv4 country databases in the MaxMind DB format, for tests (the format is
/// public: <https://maxmind.github.io/MaxMind-DB/>). Two layouts, as the reader accepts.
#[cfg(any(test, feature = "testing"))]
pub(crate) mod testing {
    use std::net::Ipv4Addr;

    /// How the country is stored in each record.
    #[derive(Debug, Clone, Copy)]
    pub enum Layout {
        /// `{"country": {"iso_code": "DE"}}`, as GeoIP2/GeoLite2 Country.
        GeoIp2,
        /// `{"country_code": "DE"}`, as the ip-location-db packages.
        CountryCode,
    }

    enum Node {
        Empty,
        Leaf(usize),
        Inner(Box<Node>, Box<Node>),
    }

    impl Node {
        fn insert(&mut self, bits: u32, depth: u8, prefix: u8, value: usize) {
            if depth == prefix {
                *self = Node::Leaf(value);
                return;
            }
            if !matches!(self, Node::Inner(..)) {
                *self = Node::Inner(Box::new(Node::Empty), Box::new(Node::Empty));
            }
            if let Node::Inner(l, r) = self {
                let child = if bits & (1 << (31 - depth)) == 0 { l } else { r };
                child.insert(bits, depth + 1, prefix, value);
            }
        }
    }

    fn ctrl(out: &mut Vec<u8>, kind: u8, size: usize) {
        assert!(size < 29, "test writer handles small values only");
        if kind <= 7 {
            out.push((kind << 5) | size as u8);
        } else {
            out.push(size as u8);
            out.push(kind - 7);
        }
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        ctrl(out, 2, s.len());
        out.extend_from_slice(s.as_bytes());
    }

    fn uint(out: &mut Vec<u8>, kind: u8, v: u64) {
        let bytes = v.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        ctrl(out, kind, 8 - skip);
        out.extend_from_slice(&bytes[skip..]);
    }

    fn map_header(out: &mut Vec<u8>, pairs: usize) {
        ctrl(out, 7, pairs);
    }

    /// A database mapping each network (`addr/prefix`) to a country code.
    pub fn country_db(entries: &[(Ipv4Addr, u8, &str)], layout: Layout) -> Vec<u8> {
        let mut data = Vec::new();
        let mut offsets = Vec::new();
        for (_, _, code) in entries {
            offsets.push(data.len());
            match layout {
                Layout::GeoIp2 => {
                    map_header(&mut data, 1);
                    string(&mut data, "country");
                    map_header(&mut data, 1);
                    string(&mut data, "iso_code");
                    string(&mut data, code);
                }
                Layout::CountryCode => {
                    map_header(&mut data, 1);
                    string(&mut data, "country_code");
                    string(&mut data, code);
                }
            }
        }
        let mut root = Node::Empty;
        for (i, (addr, prefix, _)) in entries.iter().enumerate() {
            root.insert(u32::from(*addr), 0, *prefix, offsets[i]);
        }
        // Number the inner nodes breadth-first; the root must be node 0.
        let mut order: Vec<&Node> = Vec::new();
        let mut queue = std::collections::VecDeque::from([&root]);
        while let Some(n) = queue.pop_front() {
            if let Node::Inner(l, r) = n {
                order.push(n);
                queue.push_back(l);
                queue.push_back(r);
            }
        }
        if order.is_empty() {
            order.push(&root);
        }
        let node_count = order.len();
        let index_of = |target: &Node| order.iter().position(|n| std::ptr::eq(*n, target));
        let record = |child: &Node| -> u32 {
            match child {
                Node::Empty => node_count as u32,
                Node::Leaf(offset) => (node_count + 16 + offset) as u32,
                Node::Inner(..) => index_of(child).map_or(node_count as u32, |i| i as u32),
            }
        };
        let mut out = Vec::new();
        for n in &order {
            let (l, r) = match n {
                Node::Inner(l, r) => (record(l), record(r)),
                _ => (record(n), record(n)),
            };
            out.extend_from_slice(&l.to_be_bytes()[1..]);
            out.extend_from_slice(&r.to_be_bytes()[1..]);
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let mut meta = Vec::new();
        map_header(&mut meta, 9);
        string(&mut meta, "node_count");
        uint(&mut meta, 6, node_count as u64);
        string(&mut meta, "record_size");
        uint(&mut meta, 5, 24);
        string(&mut meta, "ip_version");
        uint(&mut meta, 5, 4);
        string(&mut meta, "database_type");
        string(&mut meta, "RegPilot-Test-Country");
        string(&mut meta, "languages");
        ctrl(&mut meta, 11, 0);
        string(&mut meta, "binary_format_major_version");
        uint(&mut meta, 5, 2);
        string(&mut meta, "binary_format_minor_version");
        uint(&mut meta, 5, 0);
        string(&mut meta, "build_epoch");
        uint(&mut meta, 9, 1_700_000_000);
        string(&mut meta, "description");
        map_header(&mut meta, 1);
        string(&mut meta, "en");
        string(&mut meta, "RegPilot test data");
        out.extend_from_slice(&meta);
        out
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::testing::{country_db, Layout};
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn both_layouts_are_read() {
        let entries = [(Ipv4Addr::new(203, 0, 113, 0), 24, "DE"), (Ipv4Addr::new(198, 51, 100, 0), 24, "jp")];
        for layout in [Layout::GeoIp2, Layout::CountryCode] {
            let geo = GeoIp::from_bytes(country_db(&entries, layout)).unwrap();
            assert_eq!(geo.database_type(), "RegPilot-Test-Country");
            assert_eq!(geo.country(ip("203.0.113.77")).as_deref(), Some("DE"), "{layout:?}");
            assert_eq!(geo.country(ip("198.51.100.1")).as_deref(), Some("JP"), "{layout:?}");
            assert_eq!(geo.country(ip("192.0.2.1")), None, "{layout:?}");
            assert_eq!(geo.country(ip("::1")), None, "an IPv6 address in an IPv4 database");
            assert_eq!(country_of(Some(&geo), Some(ip("127.0.0.1"))), UNKNOWN);
        }
        assert_eq!(country_of(None, Some(ip("203.0.113.1"))), UNKNOWN);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        assert!(GeoIp::from_bytes(b"not a database".to_vec()).is_err());
        let err = GeoIp::open(Path::new("/nonexistent/geo.mmdb")).err().unwrap();
        assert!(err.contains("/nonexistent/geo.mmdb"), "{err}");
    }
}
