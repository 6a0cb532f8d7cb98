//! Table tests per built-in detector: true positives, and the near misses that must not match
//! (docs/governor.md, "Rules").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check, delivered, rules};
use regpilot_governor::{Category, Severity};
use regpilot_keys::{generate, generate_admin_token, Environment, KeyType};

fn has(text: &str, rule: &str) -> bool {
    rules(text).iter().any(|r| r == rule)
}

fn table(rule: &str, positives: &[&str], negatives: &[&str]) {
    for t in positives {
        assert!(has(t, rule), "{rule} should match {t:?}, found {:?}", rules(t));
    }
    for t in negatives {
        assert!(!has(t, rule), "{rule} should not match {t:?}");
    }
}

#[test]
fn email() {
    table(
        "pii.email",
        &["write to jane.doe@example.com today", "A.B+tag@mail.example.co.uk", "x@y.io"],
        &["user at example dot com", "@handle on social media", "me@localhost", "a@b.c"],
    );
    assert_eq!(delivered("mail jane@example.com now"), "mail [EMAIL] now");
}

#[test]
fn phone() {
    table(
        "pii.phone",
        &[
            "call +49 30 12345678",
            "call +1 (415) 555-2671 now",
            "ring +447700900123",
            "US office: (415) 555-2671",
            "US office: 415-555-2671",
            "London: 020 7946 0958",
            "mobile 07700 900123",
            "Berlin 030/1234567",
        ],
        &["order 12345678 shipped", "in 2024 we had 1200 users", "version 1.2.3", "ISBN 978-3-16-148410-0", "+12"],
    );
    assert_eq!(delivered("ring +44 20 7946 0958."), "ring [PHONE].");
}

#[test]
fn card() {
    table(
        "pii.card",
        &["card 4111 1111 1111 1111 expires", "4111-1111-1111-1111", "5555555555554444", "amex 3782 822463 10005"],
        &[
            "card 4111 1111 1111 1112 expires", // fails Luhn
            "id 1234567812345678",              // fails Luhn
            "0000 0000 0000 0000",              // passes Luhn, not a card
            "order 9111111111111111",           // no issuer starts with 9
            "tracking 411111111111",            // 12 digits
        ],
    );
    assert_eq!(delivered("pay with 4111 1111 1111 1111."), "pay with [CARD].");
    let v = check("4111111111111111");
    assert_eq!(v.findings[0].severity, Severity::Critical);
    assert_eq!(v.findings[0].category, Category::PersonalData);
}

#[test]
fn iban() {
    table(
        "pii.iban",
        &["IBAN DE89 3704 0044 0532 0130 00 please", "GB29NWBK60161331926819", "FR1420041010050500013M02606"],
        &[
            "IBAN DE88 3704 0044 0532 0130 00", // wrong check digits
            "DE89 3704 0044 0532 0130",         // too short for DE
            "XX89370400440532013000",           // no such country
            "GB29NWBK6016133192681",            // one character short
        ],
    );
    assert_eq!(delivered("to DE89 3704 0044 0532 0130 00 THANKS"), "to [IBAN] THANKS");
}

#[test]
fn ssn() {
    table(
        "pii.ssn",
        &["SSN 123-45-6789", "his number is 078-05-1121."],
        &["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "123456789", "2024-01-15"],
    );
}

#[test]
fn ni_number() {
    table(
        "pii.ni_number",
        &["NI number AB 12 34 56 C", "JG103759A"],
        &["BG123456A", "GB123456A", "DA123456A", "AB123456E", "AB12345C", "QQ123456C"],
    );
}

#[test]
fn ip_address() {
    table(
        "pii.ip_address",
        &["from 192.168.1.20 at noon", "10.0.0.1", "host 2001:db8::8a2e:370:7334 down", "fe80::1"],
        &["version 1.2.3.4.5", "999.1.1.1", "at 12:30:45", "std::io::Error", "a 1.2.3 release", "::"],
    );
}

#[test]
fn date_of_birth_only_in_context() {
    table(
        "pii.date_of_birth",
        &["she was born on 12/03/1985", "DOB: 1985-03-12", "date of birth 3 March 1985", "Born March 3, 1985 in Paris"],
        &["the meeting is on 12/03/2025", "shipped 1985-03-12", "founded in March 1985"],
    );
    assert_eq!(delivered("DOB: 1985-03-12."), "DOB: [DATE_OF_BIRTH].");
}

#[test]
fn regpilot_keys_pass_their_checksum() {
    let key = generate(KeyType::Gateway, Environment::Production).unwrap();
    let key = key.expose().to_owned();
    let mut broken = key.clone();
    let last = broken.pop().unwrap();
    broken.push(if last == 'a' { 'b' } else { 'a' });
    let project = generate(KeyType::Project, Environment::Development).unwrap().expose().to_owned();
    table("secret.regpilot_key", &[&format!("use {key} here"), &project], &[&broken, "sk_prod_short"]);
    let token = generate_admin_token().unwrap().expose().to_owned();
    let mut bad_token = token.clone();
    bad_token.replace_range(5..6, if &token[5..6] == "x" { "y" } else { "x" });
    table("secret.admin_token", &[&token], &[&bad_token]);
    assert_eq!(delivered(&format!("key {key}.")), "key [SECRET].");
}

#[test]
fn provider_keys() {
    let cases = [
        ("secret.openai_key", "sk-abcdefghijklmnopqrstuvwx1234567890ABCD"),
        ("secret.openai_key", "sk-proj-Abc123def456ghi789jkl012mno345pqr"),
        ("secret.anthropic_key", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"),
        ("secret.aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
        ("secret.github_token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("secret.github_token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop"),
        ("secret.slack_token", "xoxb-1234567890-abcdefghij"),
        ("secret.google_api_key", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    ];
    for (rule, text) in cases {
        let t = format!("the key is {text} ok");
        assert!(has(&t, rule), "{rule}: {t} → {:?}", rules(&t));
        assert_eq!(delivered(&t), "the key is [SECRET] ok", "{rule}");
    }
    table(
        "secret.openai_key",
        &[],
        &[
            "use sk-learn for that",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
            "ask-me-anything-about-it-today-please",
        ],
    );
    table("secret.aws_access_key", &[], &["AKIA123", "AKIAIOSFODNN7EXAMPLEX"]);
    table("secret.github_token", &[], &["ghp_short"]);
}

#[test]
fn pem_private_keys() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234567890abcdefABCDEF+/\nZXhhbXBsZWtleWRhdGE=\n-----END RSA PRIVATE KEY-----";
    let t = format!("Here it is:\n{pem}\nKeep it safe.");
    assert!(has(&t, "secret.private_key"));
    assert_eq!(delivered(&t), "Here it is:\n[SECRET]\nKeep it safe.");
    // Cut off before its end line: the key material is redacted all the same.
    let cut = "-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234567890abcdef\nMIIEowIBAAKC";
    assert_eq!(delivered(cut), "[SECRET]");
    assert!(!has("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----", "secret.private_key"));
}

#[test]
fn jwts_have_a_json_header_with_alg() {
    // {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890"} . signature
    let jwt =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    table("secret.jwt", &[&format!("token {jwt} here")], &["eyJub3RhbGciOjF9.eyJzdWIiOjF9.abcdefghijkl", "eyJ.a.b"]);
    assert_eq!(delivered(&format!("token {jwt}.")), "token [SECRET].");
}

#[test]
fn content_lists() {
    let cases = [
        ("content.bias", "Honestly, women are too emotional for this role."),
        ("content.self_harm", "Maybe you should kill yourself."),
        ("content.violence", "We know where you live."),
        ("content.weapons", "Here is how to build a bomb."),
        ("content.financial_guarantee", "This fund offers GUARANTEED RETURNS of 20%."),
        ("content.medical_dosage", "Take 800 mg of ibuprofen every four hours."),
        ("content.medical_dosage", "You can double the dose if it hurts."),
        ("content.legal_advice", "In my view you should sue them."),
    ];
    for (rule, text) in cases {
        assert!(has(text, rule), "{rule}: {text:?} → {:?}", rules(text));
        // Content is reported, not redacted.
        assert_eq!(delivered(text), text);
    }
    for near in [
        "Our guaranteed delivery returns nothing.",
        "the skill yourself approach",
        "a bombastic speech",
        "Take 2 minutes to read this.",
        "We guarantee a refund of the return shipping.",
    ] {
        let found: Vec<String> = rules(near).into_iter().filter(|r| r.starts_with("content.")).collect();
        assert!(found.is_empty(), "{near:?} → {found:?}");
    }
}

#[test]
fn findings_never_carry_the_text_and_point_at_it() {
    let text = "Contact jane@example.com, card 4111 1111 1111 1111.";
    let v = check(text);
    let dbg = format!("{v:?}");
    assert!(!dbg.contains("jane@example.com") || matches!(v.delivered, regpilot_governor::Delivered::Unchanged));
    for f in &v.findings {
        assert!(!f.rule.contains("jane"));
    }
    let email = v.findings.iter().find(|f| f.rule == "pii.email").unwrap();
    assert_eq!(&text[email.start..email.end], "jane@example.com");
    let card = v.findings.iter().find(|f| f.rule == "pii.card").unwrap();
    assert_eq!(&text[card.start..card.end], "4111 1111 1111 1111");
}

#[test]
fn neighbours_are_found_one_by_one() {
    assert_eq!(delivered("DE89 3704 0044 0532 0130 00 DE89 3704 0044 0532 0130 00"), "[IBAN] [IBAN]");
    assert_eq!(delivered("4111 1111 1111 1111 5555 5555 5555 4444"), "[CARD] [CARD]");
    assert_eq!(delivered("4111 1111 1111 1111 020 7946 0958"), "[CARD] [PHONE]");
    // The digits of an IBAN with wrong check digits are not a phone or card number.
    assert!(rules("to DE88 3704 0044 0532 0130 00.").is_empty());
    // An e-mail address right after a phone number.
    assert_eq!(delivered("+44 20 7946 0958 jane@example.com"), "[PHONE] [EMAIL]");
}
