//! The service layer's behaviour (README.md, "Keys" and "Command line", and docs/compliance.md),
//! written once and run against every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod each_backend;
use std::collections::HashSet;
use std::fmt::Debug;

use regpilot_control::*;
use regpilot_keys::{display_prefix, parse, Environment, KeyType, Scope, Scopes};
use regpilot_store::testing::{backends, fresh_store};
use regpilot_store::KeyRow;

fn alice() -> Actor {
    Actor("user:alice@example.com".into())
}

#[track_caller]
fn assert_invalid<T: Debug>(r: Result<T, ControlError>, expected_field: &str) -> String {
    match r {
        Err(ControlError::Invalid { field, message }) => {
            assert_eq!(field, expected_field, "{message}");
            assert!(!message.is_empty());
            message
        }
        other => panic!("expected Invalid {{ field: {expected_field} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: Debug>(r: Result<T, ControlError>, expected_what: &str, expected_id: &str) {
    match r {
        Err(ControlError::NotFound { what, id }) => assert_eq!((what, id.as_str()), (expected_what, expected_id)),
        other => panic!("expected NotFound {expected_what} '{expected_id}', got {other:?}"),
    }
}

#[track_caller]
fn assert_conflict<T: Debug>(r: Result<T, ControlError>) -> String {
    match r {
        Err(ControlError::Conflict(message)) => message,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

fn new_project(name: &str, plan: Plan) -> NewProject {
    NewProject { name: name.into(), plan, daily_limit: None, burst: None }
}

async fn project(c: &Control, name: &str) -> ProjectView {
    c.create_project(&alice(), new_project(name, Plan::Pro)).await.unwrap()
}

fn new_key(project_id: &str, key_type: KeyType, environment: Environment) -> NewKey {
    NewKey {
        project_id: project_id.into(),
        name: format!("{key_type} {environment}"),
        key_type,
        environment,
        read_only: false,
        scopes: None,
        expires_in_days: None,
    }
}

async fn key(c: &Control, project_id: &str) -> CreatedKey {
    c.create_key(&alice(), new_key(project_id, KeyType::Gateway, Environment::Production)).await.unwrap()
}

/// Every text field of a stored key row.
fn row_texts(r: &KeyRow) -> Vec<&str> {
    vec![
        &r.id,
        &r.project_id,
        &r.name,
        &r.key_type,
        &r.environment,
        &r.scopes,
        &r.status,
        &r.digest,
        &r.display_prefix,
        &r.created_by,
    ]
}

/// The random part of a secret: 32 body characters and the checksum.
fn secret_tail(secret: &str) -> &str {
    &secret[secret.len() - 38..]
}

// ---------------------------------------------------------------- projects and plans

each_backend!(projects_get_their_plan_limits, |c: Control| async move {
    let free = c.create_project(&alice(), new_project("Free one", Plan::Free)).await.unwrap();
    assert_eq!((free.plan, free.limits), (Plan::Free, Limits { daily_limit: Some(1_000), burst: 10, governor: false }));
    let pro = c.create_project(&alice(), new_project("  Pro one  ", Plan::Pro)).await.unwrap();
    assert_eq!(pro.name, "Pro one", "names are trimmed");
    assert_eq!((pro.plan, pro.limits), (Plan::Pro, Limits { daily_limit: Some(100_000), burst: 100, governor: true }));
    let ent = c.create_project(&alice(), new_project("Ent default", Plan::Enterprise)).await.unwrap();
    assert_eq!(ent.limits, Limits { daily_limit: None, burst: 1_000, governor: true });
    let custom = c
        .create_project(
            &alice(),
            NewProject {
                name: "Ent custom".into(),
                plan: Plan::Enterprise,
                daily_limit: Some(5_000_000),
                burst: Some(2_500),
            },
        )
        .await
        .unwrap();
    assert_eq!(custom.limits, Limits { daily_limit: Some(5_000_000), burst: 2_500, governor: true });
    // What was stored reads back the same.
    let again = c.get_project(&custom.id).await.unwrap();
    assert_eq!((again.name.as_str(), again.plan, again.limits), ("Ent custom", Plan::Enterprise, custom.limits));
    assert!(again.created_at.ends_with('Z'), "{}", again.created_at);

    let listed: HashSet<String> = c.list_projects().await.unwrap().into_iter().map(|p| p.id).collect();
    let created: HashSet<String> = [free.id, pro.id, ent.id, custom.id.clone()].into_iter().collect();
    assert_eq!(listed, created);

    let audit = c.store().audit_for_target(&custom.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("project.create", "user:alice@example.com"));
});

each_backend!(project_creation_is_validated, |c: Control| async move {
    for plan in [Plan::Free, Plan::Pro] {
        let r =
            c.create_project(&alice(), NewProject { name: "P".into(), plan, daily_limit: Some(10), burst: None }).await;
        assert_invalid(r, "daily_limit");
        let r =
            c.create_project(&alice(), NewProject { name: "P".into(), plan, daily_limit: None, burst: Some(10) }).await;
        assert_invalid(r, "burst");
    }
    for bad in [0, -5] {
        let r = c
            .create_project(
                &alice(),
                NewProject { name: "P".into(), plan: Plan::Enterprise, daily_limit: Some(bad), burst: None },
            )
            .await;
        assert_invalid(r, "daily_limit");
        let r = c
            .create_project(
                &alice(),
                NewProject { name: "P".into(), plan: Plan::Enterprise, daily_limit: None, burst: Some(bad) },
            )
            .await;
        assert_invalid(r, "burst");
    }
    for name in ["", "   ", "\t\n"] {
        let message = assert_invalid(c.create_project(&alice(), new_project(name, Plan::Free)).await, "name");
        assert!(message.contains("name"), "{message}");
    }
    assert_invalid(c.create_project(&alice(), new_project(&"x".repeat(101), Plan::Free)).await, "name");
    assert_invalid(c.create_project(&alice(), new_project("bad\u{7}name", Plan::Free)).await, "name");
    assert!(c.create_project(&alice(), new_project(&"x".repeat(100), Plan::Free)).await.is_ok());
    // Nothing refused was written.
    assert_eq!(c.list_projects().await.unwrap().len(), 1);
    assert_eq!(c.store().count_projects().await.unwrap(), 1);

    assert_invalid("gold".parse::<Plan>(), "plan");
    assert_eq!("enterprise".parse::<Plan>().unwrap(), Plan::Enterprise);
});

each_backend!(set_plan_changes_limits_and_refuses_unknown_projects, |c: Control| async move {
    assert_not_found(c.set_plan(&alice(), "proj_missing", Plan::Pro, None, None).await, "project", "proj_missing");
    assert_not_found(c.get_project("proj_missing").await, "project", "proj_missing");

    let p = c.create_project(&alice(), new_project("P", Plan::Free)).await.unwrap();
    let up = c.set_plan(&alice(), &p.id, Plan::Enterprise, Some(42_000), Some(77)).await.unwrap();
    assert_eq!(
        (up.plan, up.limits),
        (Plan::Enterprise, Limits { daily_limit: Some(42_000), burst: 77, governor: true })
    );
    assert_eq!(c.get_project(&p.id).await.unwrap().limits, up.limits);
    // Custom figures only on enterprise; a refused change leaves the project as it was.
    assert_invalid(c.set_plan(&alice(), &p.id, Plan::Pro, Some(5), None).await, "daily_limit");
    assert_invalid(c.set_plan(&alice(), &p.id, Plan::Free, None, Some(5)).await, "burst");
    assert_eq!(c.get_project(&p.id).await.unwrap().plan, Plan::Enterprise);
    let down = c.set_plan(&alice(), &p.id, Plan::Free, None, None).await.unwrap();
    assert_eq!(down.limits, Limits { daily_limit: Some(1_000), burst: 10, governor: false });
    let actions: Vec<String> = c.store().audit_for_target(&p.id).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(actions, ["project.create", "project.set_plan", "project.set_plan"]);
});

// ---------------------------------------------------------------- keys

each_backend!(keys_get_the_default_scopes_of_their_type, |c: Control| async move {
    let p = project(&c, "P").await;
    for t in KeyType::ALL {
        for e in Environment::ALL {
            let created = c.create_key(&alice(), new_key(&p.id, t, e)).await.unwrap();
            let k = &created.key;
            assert_eq!((k.key_type, k.environment), (t, e));
            assert_eq!(k.scopes, t.default_scopes());
            assert!(!k.read_only);
            assert_eq!(k.status, KeyStatus::Active);
            assert_eq!(k.project_id, p.id);
            assert_eq!(k.created_by, "user:alice@example.com");
            assert_eq!((k.expires_at.as_deref(), k.last_used_at.as_deref(), k.expired), (None, None, false));
            assert!(created.secret.expose().starts_with(&format!("{}_{}_", t.prefix(), e.segment())));
        }
    }
    let gw = c.create_key(&alice(), new_key(&p.id, KeyType::Gateway, Environment::Staging)).await.unwrap();
    assert_eq!(gw.key.scopes.to_list(), "chat models governor usage:read");
    let pk = c.create_key(&alice(), new_key(&p.id, KeyType::Project, Environment::Staging)).await.unwrap();
    assert_eq!(pk.key.scopes.to_list(), "usage:read compliance:read compliance:write");
});

each_backend!(read_only_keys_keep_only_read_scopes, |c: Control| async move {
    let p = project(&c, "P").await;
    let mut gw = new_key(&p.id, KeyType::Gateway, Environment::Production);
    gw.read_only = true;
    let gw = c.create_key(&alice(), gw).await.unwrap();
    assert_eq!(gw.key.scopes, Scopes::of(&[Scope::Models, Scope::UsageRead]));
    assert!(gw.key.read_only);
    let mut pk = new_key(&p.id, KeyType::Project, Environment::Development);
    pk.read_only = true;
    let pk = c.create_key(&alice(), pk).await.unwrap();
    assert_eq!(pk.key.scopes, Scopes::of(&[Scope::UsageRead, Scope::ComplianceRead]));
    assert!(pk.key.read_only);
    // Read-only over explicit scopes keeps their read part.
    let mut some = new_key(&p.id, KeyType::Gateway, Environment::Production);
    some.read_only = true;
    some.scopes = Some(Scopes::of(&[Scope::Chat, Scope::Models]));
    assert_eq!(c.create_key(&alice(), some).await.unwrap().key.scopes, Scopes::of(&[Scope::Models]));
    // It reads back the same.
    let stored = c.get_key(&gw.key.id).await.unwrap();
    assert_eq!((stored.scopes, stored.read_only), (gw.key.scopes, true));
});

each_backend!(explicit_scopes_must_belong_to_the_type, |c: Control| async move {
    let p = project(&c, "P").await;
    let mut ok = new_key(&p.id, KeyType::Gateway, Environment::Production);
    ok.scopes = Some(Scopes::of(&[Scope::Chat, Scope::UsageRead]));
    let ok = c.create_key(&alice(), ok).await.unwrap();
    assert_eq!(ok.key.scopes.to_list(), "chat usage:read");
    assert!(!ok.key.read_only);

    let cases = [
        (KeyType::Gateway, vec![Scope::ComplianceWrite], "compliance:write"),
        (KeyType::Gateway, vec![Scope::Chat, Scope::ComplianceRead], "compliance:read"),
        (KeyType::Project, vec![Scope::Chat], "chat"),
        (KeyType::Project, vec![Scope::ComplianceRead, Scope::Governor], "governor"),
        (KeyType::Project, vec![Scope::Models], "models"),
    ];
    for (t, scopes, named) in cases {
        let mut k = new_key(&p.id, t, Environment::Production);
        k.scopes = Some(Scopes::of(&scopes));
        let message = assert_invalid(c.create_key(&alice(), k).await, "scopes");
        assert!(message.contains(named), "{message}");
        // Read-only does not launder a scope outside the type.
        let mut k = new_key(&p.id, t, Environment::Production);
        k.scopes = Some(Scopes::of(&scopes));
        k.read_only = true;
        assert_invalid(c.create_key(&alice(), k).await, "scopes");
    }
    let mut empty = new_key(&p.id, KeyType::Project, Environment::Production);
    empty.scopes = Some(Scopes::EMPTY);
    assert_invalid(c.create_key(&alice(), empty).await, "scopes");
    assert_eq!(c.list_keys(&p.id).await.unwrap().len(), 1, "refused keys were not stored");
});

each_backend!(key_expiry_and_name_are_validated, |c: Control| async move {
    let p = project(&c, "P").await;
    for days in [0, -1, -3650, 3651, 100_000, i64::MAX, i64::MIN] {
        let mut k = new_key(&p.id, KeyType::Gateway, Environment::Production);
        k.expires_in_days = Some(days);
        assert_invalid(c.create_key(&alice(), k).await, "expires_in_days");
    }
    for days in [1, 30, 3650] {
        let mut k = new_key(&p.id, KeyType::Gateway, Environment::Production);
        k.expires_in_days = Some(days);
        let before = regpilot_store::now_ms();
        let created = c.create_key(&alice(), k).await.unwrap();
        let after = regpilot_store::now_ms();
        let row = c.store().get_key(&created.key.id).await.unwrap().unwrap();
        let at = row.expires_at.unwrap();
        assert!((before + days * 86_400_000..=after + days * 86_400_000).contains(&at), "{days} days");
        assert_eq!(created.key.expires_at.as_deref(), Some(rfc3339(at).as_str()));
        assert!(!created.key.expired);
    }
    for name in ["", "  "] {
        let mut k = new_key(&p.id, KeyType::Gateway, Environment::Production);
        k.name = name.into();
        assert_invalid(c.create_key(&alice(), k).await, "name");
    }
    let mut k = new_key(&p.id, KeyType::Gateway, Environment::Production);
    k.name = "x".repeat(101);
    assert_invalid(c.create_key(&alice(), k).await, "name");
    assert_eq!(c.list_keys(&p.id).await.unwrap().len(), 3);
});

each_backend!(keys_of_an_unknown_project_are_refused, |c: Control| async move {
    let r = c.create_key(&alice(), new_key("proj_nope", KeyType::Gateway, Environment::Production)).await;
    assert_not_found(r, "project", "proj_nope");
    assert_not_found(c.list_keys("proj_nope").await, "project", "proj_nope");
    assert!(c.store().keys_page("", 10).await.unwrap().is_empty());
});

each_backend!(the_secret_is_returned_once_and_only_its_digest_is_stored, |c: Control| async move {
    let p = project(&c, "P").await;
    for t in KeyType::ALL {
        for e in Environment::ALL {
            let created = c.create_key(&alice(), new_key(&p.id, t, e)).await.unwrap();
            let secret = created.secret.expose().to_owned();
            let parsed = parse(&secret).unwrap();
            assert_eq!((parsed.key_type, parsed.environment), (t, e));
            assert_eq!(created.key.prefix, display_prefix(&created.secret));

            let row = c.store().get_key(&created.key.id).await.unwrap().unwrap();
            assert_eq!(row.digest, parsed.digest().to_hex());
            assert_eq!(row.digest, regpilot_keys::digest(&secret).to_hex());
            assert_eq!(row.digest.len(), 64);
            assert_eq!(row.display_prefix, created.key.prefix);
            for text in row_texts(&row) {
                assert!(!text.contains(secret_tail(&secret)), "stored field shows the secret: {text}");
                assert!(!text.contains(&secret[12..secret.len() - 4]), "stored field shows the body: {text}");
            }
            for a in c.key_audit(&created.key.id).await.unwrap() {
                let all = format!("{} {} {} {:?} {:?}", a.actor, a.action, a.target_id, a.project_id, a.detail);
                assert!(!all.contains(secret_tail(&secret)), "audit shows the secret: {all}");
            }
            // Only the create answer carries it, and not in its Debug form.
            assert!(!format!("{created:?}").contains(secret_tail(&secret)));
            let view_json = serde_json::to_string(&created.key).unwrap();
            assert!(!view_json.contains(secret_tail(&secret)), "{view_json}");
            let answer = serde_json::to_value(&created).unwrap();
            assert_eq!(answer["secret"], secret.as_str());
            assert_eq!(answer["id"], created.key.id.as_str());
            assert_eq!(answer["prefix"], created.key.prefix.as_str());
            let again = serde_json::to_string(&c.get_key(&created.key.id).await.unwrap()).unwrap();
            assert!(!again.contains(secret_tail(&secret)), "{again}");
        }
    }
});

each_backend!(list_hides_deleted_keys_and_never_shows_secrets, |c: Control| async move {
    let p = project(&c, "P").await;
    let other = project(&c, "Other").await;
    let a = key(&c, &p.id).await;
    let b = c.create_key(&alice(), new_key(&p.id, KeyType::Project, Environment::Development)).await.unwrap();
    let gone = key(&c, &p.id).await;
    let elsewhere = key(&c, &other.id).await;
    c.deactivate_key(&alice(), &b.key.id).await.unwrap();
    c.delete_key(&alice(), &gone.key.id).await.unwrap();

    let listed = c.list_keys(&p.id).await.unwrap();
    let ids: HashSet<&str> = listed.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, HashSet::from([a.key.id.as_str(), b.key.id.as_str()]));
    assert!(listed.iter().all(|k| k.status != KeyStatus::Deleted));
    let inactive = listed.iter().find(|k| k.id == b.key.id).unwrap();
    assert_eq!(inactive.status, KeyStatus::Inactive, "inactive keys stay listed");
    let json = serde_json::to_string(&listed).unwrap();
    for s in [&a.secret, &b.secret, &gone.secret, &elsewhere.secret] {
        assert!(!json.contains(secret_tail(s.expose())), "{json}");
        assert!(!format!("{listed:?}").contains(secret_tail(s.expose())));
    }
    assert!(!json.contains("\"secret\""), "{json}");
    // Listing shows what README.md, "Command line", says it shows.
    let first = serde_json::to_value(&listed[0]).unwrap();
    for field in
        ["name", "prefix", "type", "environment", "scopes", "created_at", "last_used_at", "status", "expires_at"]
    {
        assert!(first.get(field).is_some(), "listed key lacks {field}: {first}");
    }
    let other_ids: Vec<String> = c.list_keys(&other.id).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(other_ids, vec![elsewhere.key.id.clone()]);
});

each_backend!(deactivate_reactivate_delete_and_the_audit_trail, |c: Control| async move {
    let p = project(&c, "P").await;
    let created = key(&c, &p.id).await;
    let id = created.key.id.clone();
    let bob = Actor("user:bob@example.com".into());
    let cli = Actor("cli:ops".into());

    let k = c.deactivate_key(&bob, &id).await.unwrap();
    assert_eq!((k.id.as_str(), k.status), (id.as_str(), KeyStatus::Inactive));
    assert_eq!(c.get_key(&id).await.unwrap().status, KeyStatus::Inactive);
    // Again: nothing changes, the key comes back as it is, nothing is logged.
    let k = c.deactivate_key(&bob, &id).await.unwrap();
    assert_eq!((k.id.as_str(), k.status), (id.as_str(), KeyStatus::Inactive));

    let k = c.reactivate_key(&cli, &id).await.unwrap();
    assert_eq!(k.status, KeyStatus::Active);
    let k = c.reactivate_key(&cli, &id).await.unwrap();
    assert_eq!(k.status, KeyStatus::Active, "reactivating an active key is a no-op");

    let k = c.delete_key(&Actor::system(), &id).await.unwrap();
    assert_eq!(k.status, KeyStatus::Deleted);
    assert_eq!(c.get_key(&id).await.unwrap().status, KeyStatus::Deleted, "a tombstone stays");
    assert!(c.store().get_key(&id).await.unwrap().unwrap().deleted_at.is_some());

    for (r, verb) in
        [(c.reactivate_key(&bob, &id).await, "reactivated"), (c.deactivate_key(&bob, &id).await, "deactivated")]
    {
        let message = assert_conflict(r);
        assert!(message.contains("deleted keys are permanent"), "{message}");
        assert!(message.contains(&format!("cannot be {verb}")), "{message}");
        assert!(message.contains(&id), "{message}");
    }
    let message = assert_conflict(c.delete_key(&bob, &id).await);
    assert!(message.contains("already deleted"), "{message}");
    assert_eq!(c.get_key(&id).await.unwrap().status, KeyStatus::Deleted, "still deleted");

    let trail = c.key_audit(&id).await.unwrap();
    let steps: Vec<(&str, &str)> = trail.iter().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
    assert_eq!(
        steps,
        vec![
            ("key.create", "user:alice@example.com"),
            ("key.deactivate", "user:bob@example.com"),
            ("key.reactivate", "cli:ops"),
            ("key.delete", "system"),
        ]
    );
    assert!(trail.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(trail
        .iter()
        .all(|a| a.target_type == "key" && a.target_id == id && a.project_id.as_deref() == Some(&*p.id)));

    // Deleting an inactive key works too.
    let other = key(&c, &p.id).await;
    c.deactivate_key(&bob, &other.key.id).await.unwrap();
    assert_eq!(c.delete_key(&bob, &other.key.id).await.unwrap().status, KeyStatus::Deleted);
});

each_backend!(unknown_key_ids_are_not_found, |c: Control| async move {
    let p = project(&c, "P").await;
    key(&c, &p.id).await;
    let missing = "key_doesNotExist0000";
    assert_not_found(c.get_key(missing).await, "key", missing);
    assert_not_found(c.deactivate_key(&alice(), missing).await, "key", missing);
    assert_not_found(c.reactivate_key(&alice(), missing).await, "key", missing);
    assert_not_found(c.delete_key(&alice(), missing).await, "key", missing);
    assert_not_found(c.key_audit(missing).await, "key", missing);
    // Nothing was written about it.
    assert!(c.store().audit_for_target(missing).await.unwrap().is_empty());
});

// ---------------------------------------------------------------- users and bootstrap

each_backend!(users_are_validated_and_hashed_with_argon2id, |c: Control| async move {
    let short = c.create_user(&alice(), "bob@example.com", "elevenchars".into(), "admin", false).await;
    let message = assert_invalid(short, "password");
    assert!(message.contains("12"), "{message}");
    for bad in ["", "bob", "bob@", "@example.com", "bob smith@example.com", "a@b@c", "bob@exa mple.com"] {
        assert_invalid(c.create_user(&alice(), bad, "a long enough password".into(), "admin", false).await, "email");
    }
    assert_eq!(c.store().count_users().await.unwrap(), 0);

    let password = "correct horse battery staple".to_owned();
    let u = c.create_user(&alice(), "  Bob@Example.COM ", password.clone(), "admin", true).await.unwrap();
    assert_eq!((u.email.as_str(), u.role.as_str(), u.status.as_str()), ("bob@example.com", "admin", "active"));
    let row = c.store().user_by_email("bob@example.com").await.unwrap().unwrap();
    assert_eq!(row.id, u.id);
    assert!(row.must_change_password);
    assert!(row.password_hash.starts_with("$argon2id$"), "{}", row.password_hash);
    assert!(!row.password_hash.contains(&password));
    assert!(c.passwords().verify(password.clone(), row.password_hash.clone()).await.unwrap());
    assert!(!c.passwords().verify("correct horse battery stapler".into(), row.password_hash.clone()).await.unwrap());
    assert!(!c.passwords().verify(String::new(), row.password_hash.clone()).await.unwrap());
    assert!(!c.passwords().verify(password.clone(), "not a hash".into()).await.unwrap());

    // The same address in other letters is the same user.
    let dup = c.create_user(&alice(), "BOB@example.com", "another long password".into(), "viewer", false).await;
    let message = assert_conflict(dup);
    assert!(message.contains("bob@example.com"), "{message}");
    assert_eq!(c.store().count_users().await.unwrap(), 1);
    let audit: Vec<String> = c.store().audit_for_target(&u.id).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(audit, ["user.create"]);

    // Exactly 12 characters is enough; characters are counted, not bytes.
    let twelve = c.create_user(&alice(), "carol@example.com", "ééééééééééé".into(), "viewer", false).await;
    assert_invalid(twelve, "password");
    c.create_user(&alice(), "carol@example.com", "éééééééééééé".into(), "viewer", false).await.unwrap();
});

each_backend!(bootstrap_runs_once_on_an_empty_store, |c: Control| async move {
    let first = c.bootstrap().await.unwrap().expect("an empty store is bootstrapped");
    assert_eq!(first.admin.email, "admin@localhost");
    assert_eq!(first.admin.role, "admin");
    assert_eq!(first.project.plan, Plan::Free);
    assert!(first.password.chars().count() >= 12, "the generated password passes the password rule");
    assert_eq!(c.store().count_projects().await.unwrap(), 1);
    assert_eq!(c.store().count_users().await.unwrap(), 1);
    assert_eq!(c.list_projects().await.unwrap()[0].id, first.project.id);
    let row = c.store().user_by_email("admin@localhost").await.unwrap().unwrap();
    assert!(row.must_change_password, "the generated password must be changed");
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert!(!row.password_hash.contains(&first.password));
    assert!(c.passwords().verify(first.password.clone(), row.password_hash).await.unwrap());

    assert!(c.bootstrap().await.unwrap().is_none());
    assert!(c.bootstrap().await.unwrap().is_none());
    assert_eq!(c.store().count_projects().await.unwrap(), 1);
    assert_eq!(c.store().count_users().await.unwrap(), 1);
});

each_backend!(bootstrap_leaves_a_store_with_projects_alone, |c: Control| async move {
    project(&c, "Mine").await;
    assert!(c.bootstrap().await.unwrap().is_none());
    assert_eq!(c.store().count_users().await.unwrap(), 0);
    assert_eq!(c.store().count_projects().await.unwrap(), 1);
});

// ---------------------------------------------------------------- compliance

fn violation(title: &str, severity: Severity, model_id: Option<&str>) -> NewViolation {
    NewViolation {
        title: Some(title.into()),
        description: Some("details".into()),
        severity,
        category: Some("data-protection".into()),
        model_id: model_id.map(Into::into),
    }
}

fn model(name: &str, risk_level: RiskLevel, documented: bool) -> NewModel {
    let doc = |s: &str| documented.then(|| s.to_owned());
    NewModel {
        name: name.into(),
        provider: doc("openai"),
        version: doc("4o"),
        purpose: doc("customer support"),
        risk_level,
        owner: doc("ml-team"),
    }
}

fn resolve(note: Option<&str>) -> ViolationPatch {
    ViolationPatch { status: Some(ViolationStatus::Resolved), note: note.map(Into::into) }
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> HashSet<String> {
    items.iter().map(|i| id(i).to_owned()).collect()
}

each_backend!(violations_are_created_listed_filtered_and_resolved, |c: Control| async move {
    let p = project(&c, "P").await;
    let actor = Actor::key("key_ci");
    let m = c.register_model(&p.id, model("support bot", RiskLevel::Limited, true)).await.unwrap();
    let high =
        c.create_violation(&actor, &p.id, violation("PII in prompt", Severity::High, Some(&m.id))).await.unwrap();
    assert_eq!((high.status, high.severity), (ViolationStatus::Open, Severity::High));
    assert_eq!(high.model_id.as_deref(), Some(m.id.as_str()));
    assert_eq!((high.project_id.as_str(), high.created_by.as_str()), (p.id.as_str(), "key:key_ci"));
    assert_eq!((high.resolved_at.as_deref(), high.resolution_note.as_deref()), (None, None));
    let low = c.create_violation(&actor, &p.id, violation("missing log", Severity::Low, None)).await.unwrap();
    let low2 = c.create_violation(&actor, &p.id, violation("another", Severity::Low, None)).await.unwrap();

    assert_invalid(c.create_violation(&actor, &p.id, violation("  ", Severity::Low, None)).await, "title");
    let message = assert_invalid(
        c.create_violation(&actor, &p.id, violation("x", Severity::Low, Some("mdl_nope"))).await,
        "model_id",
    );
    assert!(message.contains("mdl_nope"), "{message}");

    let all = c.list_violations(&p.id, None, None).await.unwrap();
    assert_eq!(ids(&all, |v| &v.id), ids(&[&high, &low, &low2], |v| &v.id));
    let lows = c.list_violations(&p.id, None, Some(Severity::Low)).await.unwrap();
    assert_eq!(ids(&lows, |v| &v.id), ids(&[&low, &low2], |v| &v.id));
    assert!(c.list_violations(&p.id, None, Some(Severity::Critical)).await.unwrap().is_empty());

    // Resolving needs a note that says what was done.
    assert_invalid(c.update_violation(&alice(), &p.id, &low.id, resolve(None)).await, "note");
    assert_invalid(c.update_violation(&alice(), &p.id, &low.id, resolve(Some("   "))).await, "note");
    assert_eq!(c.list_violations(&p.id, Some(ViolationStatus::Open), None).await.unwrap().len(), 3);
    let done = c.update_violation(&alice(), &p.id, &low.id, resolve(Some("log added"))).await.unwrap();
    assert_eq!(done.status, ViolationStatus::Resolved);
    assert_eq!(done.resolution_note.as_deref(), Some("log added"));
    assert_eq!(done.resolved_by.as_deref(), Some("user:alice@example.com"));
    assert!(done.resolved_at.is_some());

    let open = c.list_violations(&p.id, Some(ViolationStatus::Open), None).await.unwrap();
    assert_eq!(ids(&open, |v| &v.id), ids(&[&high, &low2], |v| &v.id));
    let resolved = c.list_violations(&p.id, Some(ViolationStatus::Resolved), None).await.unwrap();
    assert_eq!(ids(&resolved, |v| &v.id), ids(&[&low], |v| &v.id));
    assert_eq!(resolved[0].resolution_note.as_deref(), Some("log added"));
    let open_low = c.list_violations(&p.id, Some(ViolationStatus::Open), Some(Severity::Low)).await.unwrap();
    assert_eq!(ids(&open_low, |v| &v.id), ids(&[&low2], |v| &v.id));

    // Reopening clears the resolution.
    let reopened = c
        .update_violation(&alice(), &p.id, &low.id, ViolationPatch { status: Some(ViolationStatus::Open), note: None })
        .await
        .unwrap();
    assert_eq!(reopened.status, ViolationStatus::Open);
    assert_eq!((reopened.resolved_at, reopened.resolved_by, reopened.resolution_note), (None, None, None));
    assert_not_found(
        c.update_violation(&alice(), &p.id, "vio_nope", resolve(Some("n"))).await,
        "violation",
        "vio_nope",
    );

    assert_invalid(Severity::parse("severity", "urgent"), "severity");
    assert_eq!(Severity::parse("severity", "critical").unwrap(), Severity::Critical);
});

each_backend!(compliance_records_stay_in_their_project, |c: Control| async move {
    let a = project(&c, "A").await;
    let b = project(&c, "B").await;
    let actor = Actor::key("key_a");
    let ma = c.register_model(&a.id, model("a-model", RiskLevel::High, true)).await.unwrap();
    let va = c.create_violation(&actor, &a.id, violation("a", Severity::Medium, Some(&ma.id))).await.unwrap();

    // B sees none of A's records.
    let message = assert_invalid(
        c.create_violation(&actor, &b.id, violation("b", Severity::Low, Some(&ma.id))).await,
        "model_id",
    );
    assert!(message.contains("registry"), "{message}");
    assert!(c.list_violations(&b.id, None, None).await.unwrap().is_empty());
    assert!(c.list_models(&b.id, true).await.unwrap().is_empty());
    assert_not_found(c.update_violation(&alice(), &b.id, &va.id, resolve(Some("sneaky"))).await, "violation", &va.id);
    assert_not_found(c.get_model(&b.id, &ma.id).await, "model", &ma.id);
    let rename = ModelPatch { name: Some("stolen".into()), ..ModelPatch::default() };
    assert_not_found(c.update_model(&b.id, &ma.id, rename).await, "model", &ma.id);
    assert_not_found(c.archive_model(&b.id, &ma.id).await, "model", &ma.id);

    // A's records are untouched.
    let still = c.list_violations(&a.id, None, None).await.unwrap();
    assert_eq!((still.len(), still[0].status), (1, ViolationStatus::Open));
    let m = c.get_model(&a.id, &ma.id).await.unwrap();
    assert_eq!((m.name.as_str(), m.status.as_str()), ("a-model", "active"));
    assert_eq!(c.compliance_status(&b.id).await.unwrap().score, 100);
});

each_backend!(models_are_registered_updated_and_archived, |c: Control| async move {
    let p = project(&c, "P").await;
    let m = c.register_model(&p.id, model("  triage  ", RiskLevel::High, true)).await.unwrap();
    assert_eq!((m.name.as_str(), m.risk_level, m.status.as_str()), ("triage", RiskLevel::High, "active"));
    assert_eq!((m.provider.as_deref(), m.owner.as_deref()), (Some("openai"), Some("ml-team")));
    assert_eq!(m.archived_at, None);
    assert_invalid(c.register_model(&p.id, model("", RiskLevel::Minimal, false)).await, "name");
    let bare = c.register_model(&p.id, model("bare", RiskLevel::Minimal, false)).await.unwrap();
    assert_eq!((bare.provider, bare.version, bare.purpose, bare.owner), (None, None, None, None));

    let patch = ModelPatch {
        version: Some("5".into()),
        risk_level: Some(RiskLevel::Limited),
        owner: Some("   ".into()), // blank clears
        ..ModelPatch::default()
    };
    let up = c.update_model(&p.id, &m.id, patch).await.unwrap();
    assert_eq!((up.version.as_deref(), up.risk_level, up.owner.as_deref()), (Some("5"), RiskLevel::Limited, None));
    assert_eq!((up.name.as_str(), up.provider.as_deref()), ("triage", Some("openai")), "absent fields stay");
    let read = c.get_model(&p.id, &m.id).await.unwrap();
    assert_eq!((read.version.as_deref(), read.risk_level, read.owner), (Some("5"), RiskLevel::Limited, None));
    assert_invalid(
        c.update_model(&p.id, &m.id, ModelPatch { name: Some(" ".into()), ..ModelPatch::default() }).await,
        "name",
    );
    assert_not_found(c.update_model(&p.id, "mdl_nope", ModelPatch::default()).await, "model", "mdl_nope");

    let archived = c.archive_model(&p.id, &m.id).await.unwrap();
    assert_eq!(archived.status, "archived");
    assert!(archived.archived_at.is_some());
    let again = c.archive_model(&p.id, &m.id).await.unwrap();
    assert_eq!((again.status.as_str(), again.archived_at.as_deref()), ("archived", archived.archived_at.as_deref()));
    let message = assert_conflict(
        c.update_model(&p.id, &m.id, ModelPatch { name: Some("new".into()), ..ModelPatch::default() }).await,
    );
    assert!(message.contains("archived"), "{message}");
    assert_eq!(c.get_model(&p.id, &m.id).await.unwrap().name, "triage", "the archived entry is unchanged");

    let active: Vec<String> = c.list_models(&p.id, false).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(active, vec![bare.id.clone()]);
    let every = c.list_models(&p.id, true).await.unwrap();
    assert_eq!(ids(&every, |m| &m.id), HashSet::from([m.id.clone(), bare.id.clone()]));
});

each_backend!(compliance_status_of_a_known_data_set, |c: Control| async move {
    let p = project(&c, "P").await;
    let actor = Actor::key("key_ci");

    // Empty: nothing open, no models.
    let s = c.compliance_status(&p.id).await.unwrap();
    assert_eq!((s.score, s.status.as_str(), s.open_violations.total), (100, "compliant", 0));
    assert_eq!((s.registry.active, s.registry.archived), (0, 0));
    assert!((s.registry.completeness - 1.0).abs() < 1e-9);
    assert_eq!(s.project_id, p.id);
    assert!(!s.formula.is_empty());

    // Models: one fully documented (high risk), one with only its provider (minimal), one
    // unacceptable that is archived and so no longer counts.
    c.register_model(&p.id, model("full", RiskLevel::High, true)).await.unwrap();
    let mut partial = model("partial", RiskLevel::Minimal, false);
    partial.provider = Some("mistral".into());
    c.register_model(&p.id, partial).await.unwrap();
    let banned = c.register_model(&p.id, model("banned", RiskLevel::Unacceptable, true)).await.unwrap();
    c.archive_model(&p.id, &banned.id).await.unwrap();

    // Open: 1 high, 2 medium, 1 low. A critical one is resolved and no longer counts.
    for (title, sev) in
        [("h", Severity::High), ("m1", Severity::Medium), ("m2", Severity::Medium), ("l", Severity::Low)]
    {
        c.create_violation(&actor, &p.id, violation(title, sev, None)).await.unwrap();
    }
    let crit = c.create_violation(&actor, &p.id, violation("c", Severity::Critical, None)).await.unwrap();
    c.update_violation(&alice(), &p.id, &crit.id, resolve(Some("fixed"))).await.unwrap();

    let s = c.compliance_status(&p.id).await.unwrap();
    let o = &s.open_violations;
    assert_eq!((o.critical, o.high, o.medium, o.low, o.total), (0, 1, 2, 1, 4));
    let r = &s.registry;
    assert_eq!((r.active, r.archived, r.unacceptable, r.high_risk), (2, 1, 0, 1));
    // 5 of the 8 documentation fields of the two active models.
    assert!((r.completeness - 0.625).abs() < 1e-9, "{}", r.completeness);
    // V = 100 - 10 - 2·5 - 2 = 78; R = 62.5; 0.7·78 + 0.3·62.5 = 73.35 → 73.
    assert_eq!((s.score, s.status.as_str()), (73, "at_risk"));

    // An active unacceptable-risk model counts as one more critical violation:
    // V = 78 - 25 = 53; R = 100·9/12 = 75; 37.1 + 22.5 = 59.6 → 60.
    c.register_model(&p.id, model("banned again", RiskLevel::Unacceptable, true)).await.unwrap();
    let s = c.compliance_status(&p.id).await.unwrap();
    assert_eq!((s.registry.active, s.registry.unacceptable), (3, 1));
    assert!((s.registry.completeness - 0.75).abs() < 1e-9);
    assert_eq!(s.open_violations.critical, 0, "the model is not a violation record");
    assert_eq!((s.score, s.status.as_str()), (60, "non_compliant"));

    // Another project is unaffected.
    let q = project(&c, "Q").await;
    assert_eq!(c.compliance_status(&q.id).await.unwrap().score, 100);
});

/// Explicit scopes with no read scope plus `read_only` would leave a key with no scope at all:
/// refused, naming `scopes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_over_write_only_scopes_is_refused() {
    for backend in backends() {
        let c = Control::new(fresh_store(backend).await);
        let p = project(&c, "P").await;
        for (t, scope) in [(KeyType::Gateway, Scope::Chat), (KeyType::Project, Scope::ComplianceWrite)] {
            let mut k = new_key(&p.id, t, Environment::Production);
            k.read_only = true;
            k.scopes = Some(Scopes::of(&[scope]));
            assert_invalid(c.create_key(&alice(), k).await, "scopes");
        }
    }
}

/// Changing enterprise figures one at a time keeps the other; leaving enterprise drops both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_figures_not_given_again_are_kept() {
    for backend in backends() {
        let c = Control::new(fresh_store(backend).await);
        let p = project(&c, "E").await;
        let set = |plan: Plan, daily: Option<i64>, burst: Option<i64>| {
            let (c, id) = (c.clone(), p.id.clone());
            async move { c.set_plan(&alice(), &id, plan, daily, burst).await.unwrap().limits }
        };
        assert_eq!(
            set(Plan::Enterprise, None, Some(500)).await,
            Limits { daily_limit: None, burst: 500, governor: true }
        );
        assert_eq!(
            set(Plan::Enterprise, Some(9000), None).await,
            Limits { daily_limit: Some(9000), burst: 500, governor: true }
        );
        assert_eq!(set(Plan::Pro, None, None).await, Limits { daily_limit: Some(100_000), burst: 100, governor: true });
        assert_eq!(set(Plan::Enterprise, None, None).await, Limits { daily_limit: None, burst: 1000, governor: true });
    }
}
