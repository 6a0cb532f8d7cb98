//! The store's behaviour, written once and run against every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use regpilot_store::testing::{backends, fresh_store, fresh_url};
use regpilot_store::*;

fn audit(action: &str, target: &str, project: &str) -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        actor: "test".into(),
        action: action.into(),
        target_type: "key".into(),
        target_id: target.into(),
        project_id: Some(project.into()),
        detail: None,
    }
}

fn project(id: &str) -> ProjectRow {
    ProjectRow {
        id: id.into(),
        name: "P".into(),
        plan: "free".into(),
        daily_limit: None,
        burst: None,
        created_at: now_ms(),
    }
}

fn key(id: &str, project: &str, digest: &str) -> KeyRow {
    KeyRow {
        id: id.into(),
        project_id: project.into(),
        name: "k".into(),
        key_type: "gateway".into(),
        environment: "production".into(),
        scopes: "chat models".into(),
        status: "active".into(),
        digest: digest.into(),
        display_prefix: "sk_prod_abcd…wxyz".into(),
        created_at: now_ms(),
        created_by: "test".into(),
        expires_at: None,
        last_used_at: None,
        deleted_at: None,
    }
}

macro_rules! each_backend {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in backends() {
                let store = fresh_store(backend).await;
                let f = $body;
                f(store).await;
            }
        }
    };
}

each_backend!(projects_round_trip, |s: Store| async move {
    let p = project("proj_a");
    s.insert_project(&p, &audit("project.create", "proj_a", "proj_a")).await.unwrap();
    assert_eq!(s.get_project("proj_a").await.unwrap(), Some(p.clone()));
    assert_eq!(s.get_project("nope").await.unwrap(), None);
    assert_eq!(s.count_projects().await.unwrap(), 1);
    assert!(s
        .update_project_plan("proj_a", "enterprise", Some(5000), None, &audit("project.set_plan", "proj_a", "proj_a"))
        .await
        .unwrap());
    assert!(!s.update_project_plan("nope", "pro", None, None, &audit("x", "nope", "nope")).await.unwrap());
    let got = s.list_projects().await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].plan.as_str(), got[0].daily_limit, got[0].burst), ("enterprise", Some(5000), None));
});

each_backend!(project_changes_are_on_their_own_feed, |s: Store| async move {
    let head0 = s.project_feed_head().await.unwrap();
    s.insert_project(&project("pa"), &audit("project.create", "pa", "pa")).await.unwrap();
    s.insert_project(&project("pb"), &audit("project.create", "pb", "pb")).await.unwrap();
    s.update_project_plan("pa", "pro", None, None, &audit("project.set_plan", "pa", "pa")).await.unwrap();
    let batch = s.project_feed_since(head0, 100).await.unwrap();
    let seen: Vec<(&str, &str)> = batch.projects.iter().map(|p| (p.id.as_str(), p.plan.as_str())).collect();
    // Each event carries the project as it is now.
    assert_eq!(seen, vec![("pa", "pro"), ("pb", "free"), ("pa", "pro")]);
    assert_eq!(batch.last_seq, s.project_feed_head().await.unwrap());
    assert!(s.project_feed_since(batch.last_seq, 100).await.unwrap().projects.is_empty());
    assert_eq!(s.project_feed_since(head0, 1).await.unwrap().projects.len(), 1);
    // Key events are a separate feed.
    assert!(s.feed_since(0, 100).await.unwrap().events.is_empty());
});

each_backend!(keys_lifecycle_feed_and_audit, |s: Store| async move {
    s.insert_project(&project("p"), &audit("project.create", "p", "p")).await.unwrap();
    let head0 = s.feed_head().await.unwrap();
    s.insert_key(&key("k1", "p", &"a".repeat(64)), &audit("key.create", "k1", "p")).await.unwrap();
    s.insert_key(&key("k2", "p", &"b".repeat(64)), &audit("key.create", "k2", "p")).await.unwrap();
    // The digest is unique.
    let dup = s.insert_key(&key("k3", "p", &"a".repeat(64)), &audit("key.create", "k3", "p")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

    let k =
        s.change_key_status("k1", &["active"], "inactive", &audit("key.deactivate", "k1", "p")).await.unwrap().unwrap();
    assert_eq!(k.status, "inactive");
    // Not in a `from` state: nothing happens, nothing is logged.
    assert!(s
        .change_key_status("k1", &["active"], "inactive", &audit("key.deactivate", "k1", "p"))
        .await
        .unwrap()
        .is_none());
    let k = s
        .change_key_status("k2", &["active", "inactive"], "deleted", &audit("key.delete", "k2", "p"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k.status, "deleted");
    assert!(k.deleted_at.is_some());

    let listed: Vec<String> = s.list_keys("p").await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(listed, vec!["k1"]);
    let page: Vec<String> = s.keys_page("", 10).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(page, vec!["k1", "k2"], "tombstones are loaded into the index");
    assert_eq!(s.keys_page("k1", 10).await.unwrap()[0].id, "k2");
    assert_eq!(s.keys_page("", 1).await.unwrap().len(), 1);
    assert!(s.keys_page("k2", 10).await.unwrap().is_empty());
    assert_eq!(s.count_keys().await.unwrap(), 2);

    let batch = s.feed_since(head0, 100).await.unwrap();
    let seen: Vec<(String, String)> = batch.events.iter().map(|e| (e.key.id.clone(), e.action.clone())).collect();
    assert_eq!(
        seen,
        vec![
            ("k1".into(), "key.create".into()),
            ("k2".into(), "key.create".into()),
            ("k1".into(), "key.deactivate".into()),
            ("k2".into(), "key.delete".into())
        ]
    );
    assert!(batch.events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(batch.last_seq, s.feed_head().await.unwrap());
    assert!(s.feed_since(batch.last_seq, 100).await.unwrap().events.is_empty());
    let partial = s.feed_since(head0, 2).await.unwrap();
    assert_eq!(partial.events.len(), 2);

    let trail: Vec<String> = s.audit_for_target("k1").await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(trail, vec!["key.create", "key.deactivate"]);
    assert_eq!(s.audit_for_project("p", 2).await.unwrap()[0].action, "key.delete");
});

each_backend!(users_are_unique_by_email, |s: Store| async move {
    let u = UserRow {
        id: "usr_1".into(),
        email: "a@example.com".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$x$y".into(),
        role: "admin".into(),
        status: "active".into(),
        must_change_password: true,
        created_at: now_ms(),
    };
    s.insert_user(&u, &audit("user.create", "usr_1", "p")).await.unwrap();
    assert_eq!(s.user_by_email("a@example.com").await.unwrap(), Some(u.clone()));
    assert_eq!(s.count_users().await.unwrap(), 1);
    let again = UserRow { id: "usr_2".into(), ..u };
    assert!(matches!(s.insert_user(&again, &audit("user.create", "usr_2", "p")).await, Err(StoreError::Conflict(_))));
});

each_backend!(violations_filter_and_stay_in_their_project, |s: Store| async move {
    for p in ["p1", "p2"] {
        s.insert_project(&project(p), &audit("project.create", p, p)).await.unwrap();
    }
    let mk = |id: &str, p: &str, sev: &str, at: i64| ViolationRow {
        id: id.into(),
        project_id: p.into(),
        title: "t".into(),
        description: None,
        severity: sev.into(),
        category: None,
        model_id: None,
        status: "open".into(),
        created_at: at,
        created_by: "key_x".into(),
        resolved_at: None,
        resolved_by: None,
        resolution_note: None,
    };
    s.insert_violation(&mk("v1", "p1", "high", 1)).await.unwrap();
    s.insert_violation(&mk("v2", "p1", "low", 2)).await.unwrap();
    s.insert_violation(&mk("v3", "p2", "high", 3)).await.unwrap();
    let all = s.list_violations("p1", &ViolationFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), vec!["v2", "v1"]);
    let high = s.list_violations("p1", &ViolationFilter { severity: Some("high".into()), status: None }).await.unwrap();
    assert_eq!(high.len(), 1);
    assert!(s.get_violation("p1", "v3").await.unwrap().is_none(), "another project's record");
    let mut v = s.get_violation("p1", "v1").await.unwrap().unwrap();
    v.status = "resolved".into();
    v.resolution_note = Some("fixed".into());
    v.resolved_at = Some(5);
    assert!(s.update_violation(&v).await.unwrap());
    assert_eq!(s.get_violation("p1", "v1").await.unwrap(), Some(v));
    let open = s.list_violations("p1", &ViolationFilter { status: Some("open".into()), severity: None }).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(s.open_violation_counts("p1").await.unwrap(), vec![("low".to_string(), 1)]);
});

each_backend!(models_register_update_archive, |s: Store| async move {
    s.insert_project(&project("p"), &audit("project.create", "p", "p")).await.unwrap();
    let m = ModelRow {
        id: "mdl_1".into(),
        project_id: "p".into(),
        name: "gpt".into(),
        provider: Some("openai".into()),
        version: None,
        purpose: Some("support".into()),
        risk_level: "limited".into(),
        owner: None,
        status: "active".into(),
        created_at: 1,
        updated_at: 1,
        archived_at: None,
    };
    s.insert_model(&m).await.unwrap();
    assert_eq!(s.get_model("p", "mdl_1").await.unwrap(), Some(m.clone()));
    let archived = ModelRow { status: "archived".into(), archived_at: Some(9), updated_at: 9, ..m };
    assert!(s.update_model(&archived).await.unwrap());
    assert_eq!(s.list_models("p", Some("active")).await.unwrap().len(), 0);
    assert_eq!(s.list_models("p", None).await.unwrap(), vec![archived]);
    assert!(s.get_model("other", "mdl_1").await.unwrap().is_none());
});

/// Two handles on one database (two processes, two instances) see each other's changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_handle_follows_the_feed() {
    for backend in backends() {
        let url = fresh_url(backend).await;
        let a = Store::open(&url).await.unwrap();
        let b = Store::open(&url).await.unwrap();
        a.insert_project(&project("p"), &audit("project.create", "p", "p")).await.unwrap();
        let head = b.feed_head().await.unwrap();
        a.insert_key(&key("k", "p", &"c".repeat(64)), &audit("key.create", "k", "p")).await.unwrap();
        let batch = b.feed_since(head, 10).await.unwrap();
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].key.id, "k");
        b.ping().await.unwrap();
    }
}
