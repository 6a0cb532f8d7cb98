//! Dashboard sessions in the service layer, on every backend, with the clock passed in: login
//! (wrong password, unknown email and inactive user alike refused), idle timeout, absolute
//! lifetime, touch at most once a minute, logout, and deactivation ending every session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod each_backend;
use regpilot_control::*;

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;
const PASSWORD: &str = "correct horse battery";

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

each_backend!(a_password_change_checks_the_rules_and_ends_the_other_sessions, |c: Control| async move {
    let u = c.create_user(&Actor::system(), "first@example.com", PASSWORD.into(), "admin", true).await.unwrap();
    let here = login(&c, "first@example.com", T0).await;
    assert!(here.user.must_change_password, "the session says a new password is due");
    let elsewhere = login(&c, "first@example.com", T0).await;
    let change = |current: &str, new: &str| c.change_password(&u.id, current.into(), new.into(), Some(&here.id));
    let field = |r: Result<(), ControlError>| match r {
        Err(ControlError::Invalid { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(field(change("not the password", "a brand new password").await), "current_password");
    assert_eq!(field(change(PASSWORD, "too short").await), "new_password");
    assert_eq!(field(change(PASSWORD, PASSWORD).await), "new_password");
    assert!(c.session(&elsewhere.id, policy(), T0).await.unwrap().is_some(), "refused changes end nothing");
    assert!(c.login("first@example.com", PASSWORD.into(), policy(), T0).await.unwrap().is_some());

    change(PASSWORD, "a brand new password").await.unwrap();
    let still = c.session(&here.id, policy(), T0 + MINUTE).await.unwrap().expect("this session stays");
    assert!(!still.must_change_password, "the flag is cleared");
    assert!(c.session(&elsewhere.id, policy(), T0 + MINUTE).await.unwrap().is_none(), "other sessions end");
    assert!(c.login("first@example.com", PASSWORD.into(), policy(), T0).await.unwrap().is_none());
    assert!(c.login("first@example.com", "a brand new password".into(), policy(), T0).await.unwrap().is_some());
    let trail = c.store().audit_for_target(&u.id).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("user.password_change", "user:first@example.com"));
    assert!(!format!("{trail:?}").contains("a brand new password"), "the audit holds no password");

    let unknown = c.change_password("usr_nobody", PASSWORD.into(), "another new password".into(), None).await;
    assert!(matches!(unknown, Err(ControlError::NotFound { .. })), "{unknown:?}");
});
