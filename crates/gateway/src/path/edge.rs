//! The outermost layer, around the whole router: the drain, the body-size check, the marking
//! of key headers as sensitive, and the request counted in flight. Its own refusals are written
//! in the dialect of the path ([`Dialect::of_path`]); every other error is written in its
//! route's dialect where it is made. The metrics and the debug request line are written by the
//! layer that knows the route (`auth::AuthLayer`, the dashboard's page layer, and the fallbacks
//! for unmatched requests).
//!
//! A hand-written service rather than `middleware::from_fn`: it adds no allocation and no boxed
//! future to a request.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::auth::key_header_index;
use super::drain::InFlight;
use crate::error::{ApiError, Dialect};
use crate::metrics::method_label;
use crate::state::AppState;

#[derive(Clone)]
pub(crate) struct EdgeLayer(pub AppState);

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { state: self.0.clone(), inner }
    }
}

#[derive(Clone)]
pub(crate) struct Edge<S> {
    state: AppState,
    inner: S,
}

/// Routes that still answer while the server drains: the probes and the metrics.
fn answers_while_draining(path: &str) -> bool {
    matches!(path, "/api/ready" | "/api/health" | "/metrics")
}

/// Every header that can carry a key is marked sensitive: no debug print of a request shows it.
fn mark_sensitive(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if key_header_index(name.as_str()).is_some() {
            value.set_sensitive(true);
        }
    }
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let state = &self.state;
        let path = req.uri().path();
        let refused = if state.drain.is_draining() && !answers_while_draining(path) {
            state.metrics.request("draining", method_label(req.method()), 503);
            let mut refused = ApiError::NotReady("The server is shutting down; retry on another instance".into())
                .render(Dialect::of_path(path));
            refused.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Some(refused)
        } else if declared_length(req.headers()).is_some_and(|n| n > state.max_body_bytes as u64) {
            // A body declared larger than the limit is refused before anything else runs
            // (bodies sent without a length are cut at the limit where they are read, in json.rs).
            // The body is not read: the connection ends after the answer (`conn.rs` lingers, so
            // a client still sending it reads the 413 rather than a reset).
            state.metrics.request("unmatched", method_label(req.method()), 413);
            let mut refused = ApiError::PayloadTooLarge { limit: state.max_body_bytes }.render(Dialect::of_path(path));
            refused.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Some(refused)
        } else {
            None
        };
        if let Some(response) = refused {
            return EdgeFuture::Done { response: Some(response) };
        }
        mark_sensitive(req.headers_mut());
        let in_flight = state.drain.enter();
        EdgeFuture::Inner { inner: self.inner.call(req), in_flight: Some(in_flight) }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

pin_project_lite::pin_project! {
    #[project = EdgeFutureProj]
    pub enum EdgeFuture<F> {
        Inner { #[pin] inner: F, in_flight: Option<InFlight> },
        Done { response: Option<Response> },
    }
}

impl<F, E> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            EdgeFutureProj::Inner { inner, in_flight } => {
                let response = ready!(inner.poll(cx));
                // The request counts as in flight until it is answered.
                drop(in_flight.take());
                Poll::Ready(response)
            }
            EdgeFutureProj::Done { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())))
            }
        }
    }
}
