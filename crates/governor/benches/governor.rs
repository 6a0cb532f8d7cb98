//! Validating a 4 KiB answer with every built-in rule and 50 custom policies
//! (docs/governor.md, "Performance"; target under 50 µs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use regpilot_governor::{
    ActionType, AppliesTo, Check, Context, Country, Governor, Metadata, Mode, PolicyAction, PolicyDef, PolicySet,
    Severity, Target,
};

fn answer() -> String {
    let para = "Thank you for contacting support about your order. We have looked into the delivery and \
                the package left our warehouse on Monday; the carrier expects to hand it over within two \
                working days. If anything is missing, reply to this message with the order number and a \
                photo of the parcel, and we will arrange a replacement or a refund as you prefer. ";
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 4096 - 200 {
        s.push_str(para);
        if i == 3 {
            s.push_str("You can reach the team at help@example.com or +44 20 7946 0958. ");
        }
        i += 1;
    }
    s.truncate(4096);
    s
}

fn policies() -> PolicySet {
    let defs: Vec<PolicyDef> = (0..50)
        .map(|i| PolicyDef {
            id: format!("p{i}"),
            name: format!("policy {i}"),
            keywords: if i % 2 == 0 { vec![format!("codename{i}"), format!("project zeta{i}")] } else { vec![] },
            pattern: if i % 2 == 1 { Some(format!(r"(?i)\bticket-{i}\d{{2,6}}\b")) } else { None },
            applies_to: AppliesTo::Response,
            action: if i % 5 == 0 { PolicyAction::Redact } else { PolicyAction::Warn },
            severity: Severity::Medium,
            replacement: None,
            appendix: None,
            enabled: true,
            shadow: false,
        })
        .collect();
    PolicySet::compile(&defs).unwrap()
}

/// The fastest of many short batches: on a busy machine, the closest figure to an uncontended
/// core (criterion's mean includes the time the thread was not scheduled).
fn fastest_batch(label: &str, f: impl Fn()) {
    let mut best = std::time::Duration::MAX;
    for _ in 0..300 {
        let t = std::time::Instant::now();
        for _ in 0..20 {
            f();
        }
        best = best.min(t.elapsed() / 20);
    }
    println!("{label}: fastest batch {:.1} µs per check", best.as_secs_f64() * 1e6);
}

fn bench(c: &mut Criterion) {
    let gov = Governor::new();
    let set = policies();
    let text = answer();
    assert_eq!(text.len(), 4096);
    let mut metadata = Metadata::new(ActionType::CustomerSupport, "bench");
    metadata.recipient_country = Country::parse("DE");
    let ctx = Context::resolve(metadata, None);
    let empty = PolicySet::empty();
    let run = |p: &PolicySet| {
        let check = Check {
            text: black_box(&text),
            target: Target::Response,
            context: &ctx,
            policies: p,
            mode: Mode::Sanitize,
        };
        black_box(gov.check(&check));
    };
    fastest_batch("built-ins only", || run(&empty));
    fastest_batch("built-ins + 50 policies", || run(&set));
    c.bench_function("check 4 KiB, built-ins only", |b| {
        b.iter(|| {
            let check = Check {
                text: black_box(&text),
                target: Target::Response,
                context: &ctx,
                policies: &empty,
                mode: Mode::Sanitize,
            };
            black_box(gov.check(&check))
        })
    });
    c.bench_function("check 4 KiB, built-ins + 50 policies", |b| {
        b.iter(|| {
            let check = Check {
                text: black_box(&text),
                target: Target::Response,
                context: &ctx,
                policies: &set,
                mode: Mode::Sanitize,
            };
            black_box(gov.check(&check))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
