//! Dashboard sessions in the service layer, on every backend, with the clock passed in: login
//! (wrong password, unknown email and inactive user alike refused), idle timeout, absolute
//! lifetime, touch at most once a minute, logout, and deactivation ending every session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use regpilot_control::*;
use regpilot_store::testing::{backends, fresh_store};

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;
const PASSWORD: &str = "correct horse battery";

macro_rules! each_backend {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in backends() {
                eprintln!("backend: {}", backend.as_str());
                let control = Control::new(fresh_store(backend).await);
                let f = $body;
                f(control).await;
            }
        }
    };
}

fn policy() -> SessionPolicy {
    SessionPolicy { idle_ms: 30 * MINUTE, lifetime_ms: 12 * 60 * MINUTE }
}

async fn user(c: &Control, email: &str) -> UserView {
    c.create_user(&Actor::system(), email, PASSWORD.into(), "admin", false).await.unwrap()
}

async fn login(c: &Control, email: &str, at: i64) -> NewSession {
    c.login(email, PASSWORD.into(), policy(), at).await.unwrap().expect("login accepted")
}

each_backend!(login_opens_a_new_session_each_time, |c: Control| async move {
    let u = user(&c, "ann@example.com").await;
    let a = login(&c, " Ann@Example.com ", T0).await;
    let b = login(&c, "ann@example.com", T0).await;
    assert_ne!(a.id, b.id);
    assert_eq!(a.id.expose().len(), 32, "128 bits in hex");
    assert!(a.id.expose().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(a.user.csrf_token, b.user.csrf_token);
    assert_eq!(a.expires_at, T0 + policy().lifetime_ms);
    let got = c.session(&a.id, policy(), T0 + MINUTE).await.unwrap().unwrap();
    assert_eq!((got.user_id.as_str(), got.email.as_str()), (u.id.as_str(), "ann@example.com"));
    assert_eq!(got.csrf_token, a.user.csrf_token);
    assert_eq!(got.actor(), Actor("user:ann@example.com".into()));
    assert!(!format!("{:?} {:?}", a, got).contains(a.id.expose()), "Debug redacts the id");
    assert!(!format!("{got:?}").contains(&got.csrf_token));
    // The store holds the digest, not the id.
    assert!(c.store().get_session(a.id.expose()).await.unwrap().is_none());
});

each_backend!(wrong_password_unknown_email_and_inactive_user_are_refused, |c: Control| async move {
    let u = user(&c, "bob@example.com").await;
    let p = policy();
    assert!(c.login("bob@example.com", "wrong password!!".into(), p, T0).await.unwrap().is_none());
    assert!(c.login("nobody@example.com", PASSWORD.into(), p, T0).await.unwrap().is_none());
    assert!(c.login("not an email", PASSWORD.into(), p, T0).await.unwrap().is_none());
    c.deactivate_user(&Actor::system(), &u.id).await.unwrap();
    assert!(c.login("bob@example.com", PASSWORD.into(), p, T0).await.unwrap().is_none());
    c.reactivate_user(&Actor::system(), &u.id).await.unwrap();
    assert!(c.login("bob@example.com", PASSWORD.into(), p, T0).await.unwrap().is_some());
    assert!(matches!(c.deactivate_user(&Actor::system(), "usr_nope").await, Err(ControlError::NotFound { .. })));
});

each_backend!(an_idle_session_expires_and_activity_keeps_it, |c: Control| async move {
    user(&c, "cy@example.com").await;
    let s = login(&c, "cy@example.com", T0).await;
    // Seen at 20 and 45 minutes: never 30 minutes idle.
    assert!(c.session(&s.id, policy(), T0 + 20 * MINUTE).await.unwrap().is_some());
    assert!(c.session(&s.id, policy(), T0 + 45 * MINUTE).await.unwrap().is_some());
    // 30 minutes after the last touch: gone, and gone for good.
    assert!(c.session(&s.id, policy(), T0 + 75 * MINUTE).await.unwrap().is_none());
    assert!(c.session(&s.id, policy(), T0 + 46 * MINUTE).await.unwrap().is_none());
});

each_backend!(last_seen_is_written_at_most_once_a_minute, |c: Control| async move {
    user(&c, "di@example.com").await;
    let s = login(&c, "di@example.com", T0).await;
    let digest = regpilot_keys::digest(s.id.expose()).to_hex();
    c.session(&s.id, policy(), T0 + 59_000).await.unwrap().unwrap();
    assert_eq!(c.store().get_session(&digest).await.unwrap().unwrap().last_seen_at, T0);
    c.session(&s.id, policy(), T0 + TOUCH_EVERY_MS).await.unwrap().unwrap();
    assert_eq!(c.store().get_session(&digest).await.unwrap().unwrap().last_seen_at, T0 + TOUCH_EVERY_MS);
});

each_backend!(a_session_ends_at_its_absolute_lifetime, |c: Control| async move {
    user(&c, "ed@example.com").await;
    let s = login(&c, "ed@example.com", T0).await;
    let mut at = T0;
    while at + 20 * MINUTE < s.expires_at {
        at += 20 * MINUTE;
        assert!(c.session(&s.id, policy(), at).await.unwrap().is_some(), "active at {at}");
    }
    assert!(c.session(&s.id, policy(), s.expires_at).await.unwrap().is_none());
});

each_backend!(logout_and_deactivation_end_sessions, |c: Control| async move {
    let u = user(&c, "fay@example.com").await;
    let other = user(&c, "gus@example.com").await;
    let a = login(&c, "fay@example.com", T0).await;
    let b = login(&c, "fay@example.com", T0).await;
    let g = login(&c, "gus@example.com", T0).await;
    assert!(c.logout(&a.id).await.unwrap());
    assert!(!c.logout(&a.id).await.unwrap());
    assert!(c.session(&a.id, policy(), T0).await.unwrap().is_none());
    assert!(c.session(&b.id, policy(), T0).await.unwrap().is_some());
    c.deactivate_user(&Actor("user:admin@example.com".into()), &u.id).await.unwrap();
    assert!(c.session(&b.id, policy(), T0).await.unwrap().is_none());
    assert!(c.session(&g.id, policy(), T0).await.unwrap().is_some(), "{} keeps a session", other.email);
    let trail = c.store().audit_for_target(&u.id).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("user.deactivate", "user:admin@example.com"));
});

each_backend!(the_sweep_deletes_expired_sessions_only, |c: Control| async move {
    user(&c, "hal@example.com").await;
    login(&c, "hal@example.com", T0).await;
    let fresh = login(&c, "hal@example.com", T0 + 40 * MINUTE).await;
    assert_eq!(c.sweep_sessions(policy(), T0 + 45 * MINUTE).await.unwrap(), 1);
    assert!(c.session(&fresh.id, policy(), T0 + 45 * MINUTE).await.unwrap().is_some());
});
