//! Dashboard sessions in the store, on every backend: keyed by the digest of the id, touched,
//! ended one at a time, all of a user's at once, and swept when expired.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use regpilot_store::testing::{backends, fresh_store};
use regpilot_store::*;

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

fn audit(action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        at: T0,
        actor: "test".into(),
        action: action.into(),
        target_type: "user".into(),
        target_id: target.into(),
        project_id: None,
        detail: None,
    }
}

async fn user(s: &Store, id: &str) {
    let row = UserRow {
        id: id.into(),
        email: format!("{id}@example.com"),
        password_hash: "$argon2id$dummy".into(),
        role: "admin".into(),
        status: "active".into(),
        must_change_password: false,
        created_at: T0,
    };
    s.insert_user(&row, &audit("user.create", id)).await.unwrap();
}

fn session(digest: &str, user_id: &str, at: i64) -> SessionRow {
    SessionRow {
        id_digest: digest.into(),
        user_id: user_id.into(),
        csrf_token: format!("csrf-{digest}"),
        created_at: at,
        last_seen_at: at,
        expires_at: at + 12 * 60 * MINUTE,
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

each_backend!(a_session_round_trips_and_is_touched_forward_only, |s: Store| async move {
    user(&s, "usr_a").await;
    let row = session("d1", "usr_a", T0);
    s.insert_session(&row).await.unwrap();
    assert_eq!(s.get_session("d1").await.unwrap(), Some(row.clone()));
    assert_eq!(s.get_session("nope").await.unwrap(), None);
    assert!(s.touch_session("d1", T0 + MINUTE).await.unwrap());
    assert!(!s.touch_session("d1", T0).await.unwrap(), "never moves back");
    assert!(!s.touch_session("nope", T0 + MINUTE).await.unwrap());
    let got = s.get_session("d1").await.unwrap().unwrap();
    assert_eq!((got.last_seen_at, got.expires_at), (T0 + MINUTE, row.expires_at));
});

each_backend!(sessions_end_one_at_a_time_or_all_of_a_user, |s: Store| async move {
    user(&s, "usr_a").await;
    user(&s, "usr_b").await;
    for (d, u) in [("a1", "usr_a"), ("a2", "usr_a"), ("b1", "usr_b")] {
        s.insert_session(&session(d, u, T0)).await.unwrap();
    }
    assert!(s.delete_session("a1").await.unwrap());
    assert!(!s.delete_session("a1").await.unwrap());
    assert_eq!(s.get_session("a1").await.unwrap(), None);
    assert_eq!(s.delete_user_sessions("usr_a").await.unwrap(), 1);
    assert_eq!(s.get_session("a2").await.unwrap(), None);
    assert!(s.get_session("b1").await.unwrap().is_some(), "another user's session stays");
});

each_backend!(expired_and_idle_sessions_are_swept, |s: Store| async move {
    user(&s, "usr_a").await;
    let mut old = session("old", "usr_a", T0);
    old.expires_at = T0 + 10 * MINUTE;
    s.insert_session(&old).await.unwrap();
    s.insert_session(&session("idle", "usr_a", T0)).await.unwrap();
    s.insert_session(&session("fresh", "usr_a", T0 + 20 * MINUTE)).await.unwrap();
    // At T0 + 30 min with a 30-minute idle limit: `old` is past its end, `idle` was last seen
    // 30 minutes ago, `fresh` 10 minutes ago.
    let now = T0 + 30 * MINUTE;
    assert_eq!(s.delete_expired_sessions(now, now - 30 * MINUTE).await.unwrap(), 2);
    assert_eq!(s.get_session("old").await.unwrap(), None);
    assert_eq!(s.get_session("idle").await.unwrap(), None);
    assert!(s.get_session("fresh").await.unwrap().is_some());
});

each_backend!(deactivating_a_user_ends_the_users_sessions, |s: Store| async move {
    user(&s, "usr_a").await;
    s.insert_session(&session("a1", "usr_a", T0)).await.unwrap();
    assert!(s.set_user_status("usr_a", "inactive", &audit("user.deactivate", "usr_a")).await.unwrap());
    assert_eq!(s.get_session("a1").await.unwrap(), None);
    assert_eq!(s.user_by_id("usr_a").await.unwrap().unwrap().status, "inactive");
    assert!(!s.set_user_status("usr_nope", "inactive", &audit("user.deactivate", "usr_nope")).await.unwrap());
    let trail = s.audit_for_target("usr_a").await.unwrap();
    assert_eq!(trail.last().unwrap().action, "user.deactivate");
});

each_backend!(a_password_change_clears_the_flag_and_ends_the_other_sessions, |s: Store| async move {
    let row = UserRow {
        id: "usr_new".into(),
        email: "new@example.com".into(),
        password_hash: "$argon2id$old".into(),
        role: "admin".into(),
        status: "active".into(),
        must_change_password: true,
        created_at: T0,
    };
    s.insert_user(&row, &audit("user.create", "usr_new")).await.unwrap();
    user(&s, "usr_other").await;
    for (digest, owner) in [("d-keep", "usr_new"), ("d-a", "usr_new"), ("d-b", "usr_new"), ("d-x", "usr_other")] {
        s.insert_session(&session(digest, owner, T0)).await.unwrap();
    }
    let change = audit("user.password_change", "usr_new");
    assert!(s.set_user_password("usr_new", "$argon2id$new", Some("d-keep"), &change).await.unwrap());
    let u = s.user_by_id("usr_new").await.unwrap().unwrap();
    assert_eq!(u.password_hash, "$argon2id$new");
    assert!(!u.must_change_password);
    assert!(s.get_session("d-keep").await.unwrap().is_some(), "the current session stays");
    assert!(s.get_session("d-a").await.unwrap().is_none() && s.get_session("d-b").await.unwrap().is_none());
    assert!(s.get_session("d-x").await.unwrap().is_some(), "another user's session is untouched");
    let actions: Vec<String> = s.audit_for_target("usr_new").await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(actions, ["user.create", "user.password_change"]);

    // Without a session to keep, all of them end; an unknown user changes nothing.
    assert!(s
        .set_user_password("usr_new", "$argon2id$3", None, &audit("user.password_change", "usr_new"))
        .await
        .unwrap());
    assert!(s.get_session("d-keep").await.unwrap().is_none());
    assert!(!s.set_user_password("usr_none", "h", None, &audit("user.password_change", "usr_none")).await.unwrap());
    assert_eq!(s.audit_for_target("usr_none").await.unwrap().len(), 0);
});
