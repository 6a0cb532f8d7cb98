//! Recipient countries (docs/governor.md, "Countries"): ISO 3166-1 alpha-2 codes, validated
//! against the officially assigned list, and the region whose rule pack applies.

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted.
const ISO_3166_1: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// The 27 member states of the European Union.
const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Where the reader of an answer is: a validated code, or unknown (the baseline rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Country {
    /// Upper-case ISO 3166-1 alpha-2 letters.
    Code([u8; 2]),
    #[default]
    Unknown,
}

/// The rule pack a country belongs to (docs/governor.md, "Country packs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// The 27 EU member states: GDPR and the EU AI Act.
    Eu,
    /// The United Kingdom: UK GDPR and the Data Protection Act 2018.
    Uk,
    /// The United States: CCPA and FTC rules.
    Us,
    /// Any other assigned country.
    Other,
    /// The country is not known: baseline rules.
    Unknown,
}

impl Region {
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Eu => "eu",
            Region::Uk => "uk",
            Region::Us => "us",
            Region::Other => "other",
            Region::Unknown => "unknown",
        }
    }
}

impl Country {
    /// A validated country from any-case input (`"de"` → `DE`); `None` for anything that is not an
    /// assigned ISO 3166-1 alpha-2 code (`"UK"`, `"XX"`, `"DEU"`).
    pub fn parse(s: &str) -> Option<Country> {
        let b = s.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let code = [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()];
        ISO_3166_1.binary_search_by(|c| c.as_bytes().cmp(&code[..])).ok().map(|_| Country::Code(code))
    }

    /// `"DE"`, or `"unknown"`.
    pub fn as_str(&self) -> &str {
        match self {
            Country::Code(c) => std::str::from_utf8(c).unwrap_or("unknown"),
            Country::Unknown => "unknown",
        }
    }

    pub fn region(&self) -> Region {
        match self {
            Country::Unknown => Region::Unknown,
            Country::Code(c) => {
                let code = &c[..];
                if code == b"GB" {
                    Region::Uk
                } else if code == b"US" {
                    Region::Us
                } else if EU.iter().any(|e| e.as_bytes() == code) {
                    Region::Eu
                } else {
                    Region::Other
                }
            }
        }
    }
}

/// Serializes as its code (`"DE"`) or `"unknown"`.
impl serde::Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_the_eu_is_in_it() {
        assert!(ISO_3166_1.windows(2).all(|w| w[0] < w[1]));
        for e in EU {
            assert_eq!(Country::parse(e).unwrap().region(), Region::Eu, "{e}");
        }
    }

    #[test]
    fn parse_validates_and_upper_cases() {
        assert_eq!(Country::parse("de").unwrap().as_str(), "DE");
        assert_eq!(Country::parse("Gb").unwrap().region(), Region::Uk);
        assert_eq!(Country::parse("US").unwrap().region(), Region::Us);
        assert_eq!(Country::parse("JP").unwrap().region(), Region::Other);
        assert_eq!(Country::parse("CH").unwrap().region(), Region::Other);
        for bad in ["", "D", "DEU", "UK", "XX", "EU", "1A", "dé", "ZZ"] {
            assert_eq!(Country::parse(bad), None, "{bad}");
        }
        assert_eq!(Country::Unknown.as_str(), "unknown");
        assert_eq!(Country::Unknown.region(), Region::Unknown);
        assert_eq!(serde_json::to_string(&Country::parse("fr")).unwrap(), "\"FR\"");
        assert_eq!(serde_json::to_string(&Country::Unknown).unwrap(), "\"unknown\"");
    }
}
