//! HTML by hand: every piece of user data goes through [`esc`]; the layout every page shares;
//! the answer type that sends it.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use regpilot_control::SessionUser;

use super::csrf::TOKEN_FIELD;

/// Escapes text for an HTML element or a quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The hidden field that carries the session's CSRF token in every form.
pub(crate) fn csrf_field(user: &SessionUser) -> String {
    format!(r#"<input type="hidden" name="{TOKEN_FIELD}" value="{}">"#, esc(&user.csrf_token))
}

/// A whole page: `body` is HTML already escaped where needed. With a user, the header shows
/// who is logged in, the change-password link and the logout button.
pub(crate) fn layout(title: &str, user: Option<&SessionUser>, body: &str) -> String {
    let account = match user {
        Some(u) => format!(
            r#"<form class="logout" method="post" action="/logout">{}<span>{}</span> <a href="/users">Users</a> <a href="/account/tokens">Admin tokens</a> <a href="/account/password">Change password</a> <button type="submit">Log out</button></form>"#,
            csrf_field(u),
            esc(&u.email)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · RegPilot Gateway</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/copy.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="/">RegPilot Gateway</a>{account}</header>
<main>
{body}
</main>
</body>
</html>
"#,
        title = esc(title)
    )
}

/// A time as the pages show it: `2026-03-10 14:05 UTC`; `—` for none.
pub(crate) fn when(rfc3339: Option<&str>) -> String {
    match rfc3339 {
        Some(t) => format!("{} UTC", esc(t.get(..16).unwrap_or(t)).replace('T', " ")),
        None => "—".to_owned(),
    }
}

/// A form field's error, next to it, when `error` names that field.
pub(crate) fn field_error(error: Option<(&str, &str)>, field: &str) -> String {
    match error {
        Some((f, m)) if f == field => format!(r#"<p class="error" id="{field}-error" role="alert">{}</p>"#, esc(m)),
        _ => String::new(),
    }
}

/// An HTML answer.
pub(crate) fn html(status: StatusCode, page: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// A short page that says what went wrong and where to go next.
pub(crate) fn message(status: StatusCode, title: &str, text: &str, user: Option<&SessionUser>) -> Response {
    let body =
        format!(r#"<h1>{}</h1><p class="notice">{}</p><p><a href="/">Back to projects</a></p>"#, esc(title), esc(text));
    html(status, layout(title, user, &body))
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(esc(r#"<b a="1">'&'</b>"#), "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
    }
}
