//! `regpilot user create|list|deactivate|reactivate` against a running server: a deactivated
//! user's dashboard session ends at once and the user cannot log in until reactivated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const PASSWORD: &str = "a-long-enough-password";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

/// Logs in; the status and the session cookie (`name=value`).
fn login(base: &str, email: &str) -> (u16, Option<String>) {
    let resp = agent()
        .post(&format!("{base}/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", base)
        .send(format!("email={}&password={PASSWORD}", email.replace('@', "%40")))
        .unwrap();
    let cookie = resp.headers().get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    (resp.status().as_u16(), cookie)
}

/// Where `GET /` sends this session: 200 (the projects) or 303 (to the login page).
fn home(base: &str, cookie: &str) -> u16 {
    agent().get(&format!("{base}/")).header("Cookie", cookie).call().unwrap().status().as_u16()
}

#[test]
fn a_deactivated_user_is_logged_out_at_once_and_cannot_log_in() {
    let dir = Scratch::new("users-cli");
    let db = sqlite_url(dir.path());
    let server = Server::start(dir.path(), &db, "serve", "info");
    let email = "ops@example.com";
    let created = cli_with(
        dir.path(),
        &db,
        &["user", "create", "--email", email, "--role", "viewer", "--json"],
        &[],
        Some(PASSWORD),
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let user: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert!(user.get("password_hash").is_none() && !String::from_utf8_lossy(&created.stdout).contains(PASSWORD));

    let list = cli_json(dir.path(), &db, &["user", "list"]);
    let users = list["users"].as_array().unwrap();
    assert_eq!(users.len(), 2, "the bootstrap admin and the new user: {list}");
    let ops = users.iter().find(|u| u["email"] == email).unwrap();
    assert_eq!((ops["role"].as_str(), ops["status"].as_str()), (Some("viewer"), Some("active")));

    let (status, cookie) = login(&server.base, email);
    assert_eq!(status, 303);
    let cookie = cookie.unwrap();
    assert_eq!(home(&server.base, &cookie), 200);

    // By email or by id.
    let out = cli_json(dir.path(), &db, &["user", "deactivate", email]);
    assert_eq!(out["status"], "inactive");
    assert_eq!(home(&server.base, &cookie), 303, "the session ended with the deactivation");
    assert_eq!(login(&server.base, email), (401, None));
    assert_eq!(cli_json(dir.path(), &db, &["user", "reactivate", &str_of(&user, "id")])["status"], "active");
    assert_eq!(login(&server.base, email).0, 303);

    let unknown = cli(dir.path(), &db, &["user", "deactivate", "nobody@example.com"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody@example.com"));
    assert_eq!(server.stop().code(), Some(0));
}
