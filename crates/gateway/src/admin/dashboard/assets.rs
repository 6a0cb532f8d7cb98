//! The dashboard's static files, compiled into the binary: no CDN, no network fetch.

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../../assets/app.css"))
}

pub(crate) async fn copy_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../../assets/copy.js"))
}
