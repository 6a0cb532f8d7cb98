//! The verify path with 100,000 keys loaded: read the header → parse (format + checksum) →
//! SHA-256 digest → key-index lookup → status/expiry check. `cargo bench -p regpilot-gateway`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use axum::http::{HeaderMap, HeaderValue};
use criterion::{criterion_group, criterion_main, Criterion};
use regpilot_gateway::KeyIndex;
use regpilot_gateway::{find_key, verify, AuthOutcome};
use regpilot_keys::{digest, display_prefix, generate, Environment, KeyType};
use regpilot_store::KeyRow;

const KEYS: usize = 100_000;

fn loaded_index() -> (KeyIndex, Vec<String>) {
    let index = KeyIndex::new();
    let mut secrets = Vec::with_capacity(KEYS);
    let rows: Vec<KeyRow> = (0..KEYS)
        .map(|i| {
            let env = [Environment::Development, Environment::Staging, Environment::Production][i % 3];
            let secret = generate(KeyType::Gateway, env).unwrap();
            let row = KeyRow {
                id: format!("key_{i}"),
                project_id: "proj_bench".into(),
                name: "bench".into(),
                key_type: "gateway".into(),
                environment: env.as_str().into(),
                scopes: KeyType::Gateway.default_scopes().to_list(),
                status: "active".into(),
                digest: digest(secret.expose()).to_hex(),
                display_prefix: display_prefix(&secret),
                created_at: 0,
                created_by: "bench".into(),
                expires_at: None,
                last_used_at: None,
                deleted_at: None,
            };
            secrets.push(secret.expose().to_owned());
            row
        })
        .collect();
    assert!(index.upsert_rows(&rows).is_empty());
    (index, secrets)
}

fn headers_with(key: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("x-api-key", HeaderValue::from_str(key).unwrap());
    h
}

fn bench_verify(c: &mut Criterion) {
    let (index, secrets) = loaded_index();
    let now = 1_800_000_000_000;
    let valid: Vec<HeaderMap> = secrets.iter().step_by(97).map(|s| headers_with(s)).collect();
    let mut i = 0;
    c.bench_function("verify/valid key, 100k loaded", |b| {
        b.iter(|| {
            i = (i + 1) % valid.len();
            let outcome = verify(find_key(black_box(&valid[i])), &index, now);
            assert!(matches!(outcome, AuthOutcome::Ok(_)));
        })
    });
    let unknown = headers_with(generate(KeyType::Gateway, Environment::Production).unwrap().expose());
    c.bench_function("verify/unknown well-formed key", |b| {
        b.iter(|| assert!(matches!(verify(find_key(black_box(&unknown)), &index, now), AuthOutcome::Unknown)))
    });
    let mut bad = secrets[0].clone();
    bad.pop();
    bad.push(if secrets[0].ends_with('0') { '1' } else { '0' });
    let bad_checksum = headers_with(&bad);
    c.bench_function("verify/bad checksum", |b| {
        b.iter(|| {
            let o = verify(find_key(black_box(&bad_checksum)), &index, now);
            assert!(matches!(o, AuthOutcome::BadChecksum | AuthOutcome::Unknown));
        })
    });
    let malformed = headers_with("not-a-key");
    c.bench_function("verify/malformed", |b| {
        b.iter(|| assert!(matches!(verify(find_key(black_box(&malformed)), &index, now), AuthOutcome::Malformed)))
    });
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
