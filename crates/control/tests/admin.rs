//! Admin tokens, key rolls, user roles and resets, and the digest statuses of the secret
//! scanner (README.md, "Admin API" and "Rolling a key"), run against every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod each_backend;

use regpilot_control::*;
use regpilot_keys::{is_admin_token, Environment, KeyType};
use regpilot_store::{now_ms, HourlyDelta, UsageBatch, UsageCounts, DAY_MS};

fn alice() -> Actor {
    Actor("user:alice@example.com".into())
}

async fn user(c: &Control, email: &str, role: &str) -> UserView {
    c.create_user(&alice(), email, "correct horse battery".into(), role, false).await.unwrap()
}

async fn project_and_key(c: &Control) -> (ProjectView, CreatedKey) {
    let p = c
        .create_project(&alice(), NewProject { name: "P".into(), plan: Plan::Pro, daily_limit: None, burst: None })
        .await
        .unwrap();
    let k = c
        .create_key(
            &alice(),
            NewKey {
                project_id: p.id.clone(),
                name: "ci".into(),
                key_type: KeyType::Gateway,
                environment: Environment::Staging,
                read_only: false,
                scopes: Some(regpilot_keys::Scopes::parse_list("chat models").unwrap()),
                expires_in_days: Some(10),
            },
        )
        .await
        .unwrap();
    (p, k)
}

fn principal(a: AdminAuth) -> AdminPrincipal {
    match a {
        AdminAuth::Ok(p) => p,
        other => panic!("expected a valid token, got {other:?}"),
    }
}

each_backend!(tokens_are_shown_once_stored_as_digests_and_carry_the_role, |c: Control| async move {
    let u = user(&c, "ops@example.com", "admin").await;
    let created = c.create_admin_token(&alice(), "OPS@example.com", "laptop", Some(30), false).await.unwrap();
    let secret = created.secret.expose().to_owned();
    assert!(is_admin_token(&secret), "{secret}");
    assert_eq!((created.token.user_id.as_str(), created.email.as_str()), (u.id.as_str(), "ops@example.com"));
    assert!(created.token.prefix.starts_with("rpa_") && created.token.prefix.contains('…'));
    assert!(!format!("{created:?}").contains(&secret), "Debug redacts the token");
    // The store keeps the digest, never the token.
    let row = c.store().get_admin_token(&created.token.id).await.unwrap().unwrap();
    assert_eq!(row.digest, regpilot_keys::digest(&secret).to_hex());
    assert!(!format!("{row:?}").contains(&secret) && row.display_prefix != secret);

    let p = principal(c.authenticate_admin_token(&secret, now_ms()).await.unwrap());
    assert_eq!(
        (p.email.as_str(), p.role.as_str(), p.read_only, p.may_write()),
        ("ops@example.com", "admin", false, true)
    );
    assert!(p.actor().0.contains(&created.token.id));
    let listed = c.list_admin_tokens(Some(&u.id)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "a use is recorded");
    assert_eq!(listed[0].status, "active");

    // A role change applies at the next use.
    c.set_user_role(&alice(), &u.email, "viewer").await.unwrap();
    let p = principal(c.authenticate_admin_token(&secret, now_ms()).await.unwrap());
    assert_eq!((p.role.as_str(), p.may_write()), ("viewer", false));
    c.set_user_role(&alice(), &u.id, "admin").await.unwrap();
    assert!(matches!(c.set_user_role(&alice(), &u.id, "root").await, Err(ControlError::Invalid { field: "role", .. })));

    // A read-only token never writes, whatever the role.
    let ro = c.create_admin_token(&alice(), &u.id, "reader", None, true).await.unwrap();
    let p = principal(c.authenticate_admin_token(ro.secret.expose(), now_ms()).await.unwrap());
    assert!(p.read_only && !p.may_write());

    // Expiry.
    assert_eq!(c.authenticate_admin_token(&secret, now_ms() + 31 * DAY_MS).await.unwrap(), AdminAuth::Expired);

    // A deactivated user's tokens stop at once, and work again on reactivation.
    c.deactivate_user(&alice(), &u.id).await.unwrap();
    assert_eq!(c.authenticate_admin_token(&secret, now_ms()).await.unwrap(), AdminAuth::UserInactive);
    assert!(matches!(c.create_admin_token(&alice(), &u.id, "x", None, false).await, Err(ControlError::Conflict(_))));
    c.reactivate_user(&alice(), &u.id).await.unwrap();
    principal(c.authenticate_admin_token(&secret, now_ms()).await.unwrap());

    // Revocation, once.
    let other = user(&c, "other@example.com", "admin").await;
    assert!(matches!(
        c.revoke_admin_token(&alice(), &created.token.id, Some(&other.id)).await,
        Err(ControlError::NotFound { .. })
    ));
    let revoked = c.revoke_admin_token(&alice(), &created.token.id, Some(&u.id)).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    assert_eq!(c.authenticate_admin_token(&secret, now_ms()).await.unwrap(), AdminAuth::Revoked);
    assert!(matches!(c.revoke_admin_token(&alice(), &created.token.id, None).await, Err(ControlError::Conflict(_))));

    // Strings that are not tokens cost no lookup; well-formed unknown ones are unknown.
    assert_eq!(c.authenticate_admin_token("rpa_nope", now_ms()).await.unwrap(), AdminAuth::Malformed);
    let unknown = regpilot_keys::generate_admin_token().unwrap();
    assert_eq!(c.authenticate_admin_token(unknown.expose(), now_ms()).await.unwrap(), AdminAuth::Unknown);

    // Bad input.
    assert!(matches!(
        c.create_admin_token(&alice(), &u.id, " ", None, false).await,
        Err(ControlError::Invalid { field: "name", .. })
    ));
    assert!(matches!(
        c.create_admin_token(&alice(), &u.id, "x", Some(0), false).await,
        Err(ControlError::Invalid { field: "expires_in_days", .. })
    ));
    assert!(matches!(
        c.create_admin_token(&alice(), "nobody@example.com", "x", None, false).await,
        Err(ControlError::NotFound { .. })
    ));

    // Audited: creation, revocation and a write use.
    c.audit_admin_token_write(&p, "POST", "/api/admin/projects", 201).await.unwrap();
    let actions: Vec<String> =
        c.store().audit_page(None, None, 100).await.unwrap().into_iter().map(|(_, a)| a.action).collect();
    for a in ["admin_token.create", "admin_token.revoke", "admin_token.use", "user.set_role"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
});

each_backend!(a_roll_makes_a_successor_and_expires_the_old_key_after_the_grace, |c: Control| async move {
    let (p, k) = project_and_key(&c).await;
    let before = now_ms();
    let rolled = c.roll_key(&alice(), &k.key.id, 3_600_000).await.unwrap();
    let (new, old) = (&rolled.new.key, &rolled.rolled_from);
    assert_ne!(new.id, k.key.id);
    assert_ne!(rolled.new.secret.expose(), k.secret.expose());
    assert_eq!(
        (&new.name, new.key_type, new.environment, &new.scopes, &new.project_id),
        (&k.key.name, k.key.key_type, k.key.environment, &k.key.scopes, &p.id)
    );
    assert_eq!(new.status, KeyStatus::Active);
    assert!(new.expires_at.is_some(), "a key made to expire keeps its lifetime");
    // The old key expires at the end of the grace.
    let old_row = c.store().get_key(&k.key.id).await.unwrap().unwrap();
    let ends = old_row.expires_at.unwrap();
    assert!(ends >= before + 3_600_000 && ends <= now_ms() + 3_600_000, "{ends}");
    assert_eq!(old.status, KeyStatus::Active);
    assert!(!old.expired);

    // Linked both ways.
    let d_old = c.get_key_detail(&k.key.id).await.unwrap();
    assert_eq!(d_old.roll.rolled_to.as_deref(), Some(new.id.as_str()));
    assert_eq!(d_old.roll.uses_since_roll, Some(0));
    let d_new = c.get_key_detail(&new.id).await.unwrap();
    assert_eq!(d_new.roll.rolled_from.as_deref(), Some(k.key.id.as_str()));
    assert_eq!((d_new.roll.rolled_to, d_new.roll.uses_since_roll), (None, None));
    let listed = c.list_key_details(&p.id).await.unwrap();
    let find = |id: &str| listed.iter().find(|d| d.key.id == id).unwrap().roll.clone();
    assert_eq!(find(&k.key.id).rolled_to.as_deref(), Some(new.id.as_str()));
    assert_eq!(find(&new.id).rolled_from.as_deref(), Some(k.key.id.as_str()));

    // Both changes are on the feed, so every instance applies them.
    let feed = c.store().feed_since(0, 100).await.unwrap();
    let ids: Vec<(&str, &str)> = feed.events.iter().map(|e| (e.key.id.as_str(), e.action.as_str())).collect();
    assert!(
        ids.contains(&(new.id.as_str(), "key.create")) && ids.contains(&(k.key.id.as_str(), "key.roll")),
        "{ids:?}"
    );
    // Audited on both keys.
    let trail = c.key_audit(&k.key.id).await.unwrap();
    assert!(trail.iter().any(|a| a.action == "key.roll" && a.detail.as_deref().unwrap_or("").contains(&new.id)));
    let trail = c.key_audit(&new.id).await.unwrap();
    assert!(trail.iter().any(|a| a.action == "key.create" && a.detail.as_deref().unwrap_or("").contains(&k.key.id)));

    // Uses of the old key after the roll are counted.
    let at = now_ms();
    let delta = |key: &str, requests, refused| HourlyDelta {
        key_id: key.into(),
        project_id: p.id.clone(),
        hour: regpilot_store::hour_start(at),
        counts: UsageCounts { requests, refused, ..UsageCounts::default() },
    };
    let batch = UsageBatch {
        hourly: vec![delta(&k.key.id, 3, 1), delta(&new.id, 5, 0)],
        last_used: vec![(k.key.id.clone(), at)],
        ..UsageBatch::default()
    };
    c.store().write_usage(&batch).await.unwrap();
    c.store().write_usage(&batch).await.unwrap();
    let d_old = c.get_key_detail(&k.key.id).await.unwrap();
    assert_eq!(d_old.roll.uses_since_roll, Some(8));
    assert!(d_old.roll.last_use_since_roll.is_some());

    // A rename keeps everything else; deleted keys cannot be renamed.
    let renamed = c.rename_key(&alice(), &new.id, "  ci v2 ").await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.status), ("ci v2", KeyStatus::Active));
    assert!(matches!(c.rename_key(&alice(), &new.id, "").await, Err(ControlError::Invalid { field: "name", .. })));
    assert!(c.key_audit(&new.id).await.unwrap().iter().any(|a| a.action == "key.rename"));

    // Once only; a deleted key cannot be rolled; bad grace periods are refused.
    let again = c.roll_key(&alice(), &k.key.id, 0).await;
    assert!(matches!(&again, Err(ControlError::Conflict(m)) if m.contains(&new.id)), "{again:?}");
    let (_, k2) = project_and_key(&c).await;
    c.delete_key(&alice(), &k2.key.id).await.unwrap();
    assert!(matches!(c.roll_key(&alice(), &k2.key.id, 0).await, Err(ControlError::Conflict(_))));
    assert!(matches!(c.rename_key(&alice(), &k2.key.id, "x").await, Err(ControlError::Conflict(_))));
    assert!(matches!(c.roll_key(&alice(), &new.id, -1).await, Err(ControlError::Invalid { field: "grace", .. })));
    assert!(matches!(c.roll_key(&alice(), "key_nope", 0).await, Err(ControlError::NotFound { .. })));

    // Grace 0: the old key is expired at once, and the successor can be rolled in turn.
    let rolled2 = c.roll_key(&alice(), &new.id, 0).await.unwrap();
    assert!(c.get_key(&new.id).await.unwrap().expired);
    assert!(!rolled2.new.key.expired);
});

each_backend!(digest_statuses_tell_live_from_dead_and_unknown, |c: Control| async move {
    let (_, live) = project_and_key(&c).await;
    let (_, inactive) = project_and_key(&c).await;
    c.deactivate_key(&alice(), &inactive.key.id).await.unwrap();
    let (_, deleted) = project_and_key(&c).await;
    c.delete_key(&alice(), &deleted.key.id).await.unwrap();
    let (_, expired) = project_and_key(&c).await;
    c.roll_key(&alice(), &expired.key.id, 0).await.unwrap();
    let u = user(&c, "t@example.com", "admin").await;
    let tok = c.create_admin_token(&alice(), &u.id, "t", None, false).await.unwrap();
    let revoked = c.create_admin_token(&alice(), &u.id, "r", None, false).await.unwrap();
    c.revoke_admin_token(&alice(), &revoked.token.id, None).await.unwrap();
    let unknown = regpilot_keys::generate(KeyType::Gateway, Environment::Production).unwrap();

    let d = |s: &str| regpilot_keys::digest(s).to_hex();
    let asked = vec![
        d(live.secret.expose()),
        d(inactive.secret.expose()),
        d(deleted.secret.expose()),
        d(expired.secret.expose()),
        d(unknown.expose()),
        d(tok.secret.expose()),
        d(revoked.secret.expose()),
    ];
    let got = c.digest_statuses(&asked).await.unwrap();
    let states: Vec<DigestState> = got.iter().map(|s| s.status).collect();
    use DigestState::*;
    assert_eq!(states, vec![Live, Inactive, Deleted, Expired, Unknown, Live, Deleted]);
    assert_eq!(got[0].key_id.as_deref(), Some(live.key.id.as_str()));
    assert_eq!(got[0].prefix.as_deref(), Some(live.key.prefix.as_str()));
    assert_eq!((got[0].kind, got[5].kind, got[4].kind), (Some("api_key"), Some("admin_token"), None));
    assert_eq!((&got[4].prefix, &got[4].key_id), (&None, &None));
    c.deactivate_user(&alice(), &u.id).await.unwrap();
    assert_eq!(c.digest_statuses(&asked[5..6]).await.unwrap()[0].status, Inactive);

    assert!(matches!(
        c.digest_statuses(&["ABC".to_string()]).await,
        Err(ControlError::Invalid { field: "digests", .. })
    ));
    assert!(matches!(
        c.digest_statuses(&vec![asked[0].clone(); 1001]).await,
        Err(ControlError::Invalid { field: "digests", .. })
    ));
    assert_eq!(c.digest_statuses(&vec![asked[0].clone(); 1000]).await.unwrap().len(), 1000);
});

each_backend!(a_password_reset_generates_one_the_user_must_change, |c: Control| async move {
    let u = user(&c, "forgot@example.com", "viewer").await;
    let policy = SessionPolicy::default();
    let s = c.login(&u.email, "correct horse battery".into(), policy, now_ms()).await.unwrap().unwrap();
    let reset = c.reset_user_password(&alice(), &u.email).await.unwrap();
    let pw = reset.password.expose().to_owned();
    assert_eq!(pw.len(), 20);
    assert!(!format!("{reset:?}").contains(&pw));
    assert!(c.session(&s.id, policy, now_ms()).await.unwrap().is_none(), "the user's sessions end");
    assert!(c.login(&u.email, "correct horse battery".into(), policy, now_ms()).await.unwrap().is_none());
    let s = c.login(&u.email, pw, policy, now_ms()).await.unwrap().unwrap();
    assert!(s.user.must_change_password);
    let trail = c.store().audit_page(None, None, 10).await.unwrap();
    assert!(trail.iter().any(|(_, a)| a.action == "user.password_reset" && a.target_id == u.id));
    // The audit log pages by cursor, newest first.
    let first = c.audit_log_page(None, None, 1).await.unwrap();
    let next = c.audit_log_page(None, Some(first[0].0), 100).await.unwrap();
    assert!(next.iter().all(|(id, _)| *id < first[0].0));
    assert_eq!(next.len() + 1, trail.len().max(next.len() + 1));
});
