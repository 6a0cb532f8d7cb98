//! The outermost layer, around the whole router: the drain, the body-size check, the marking
//! of key headers as sensitive, and OpenAI's error shape under `/v1/`. The metrics and the
//! debug request line are written by the layer that knows the route (`auth::AuthLayer`, the
//! dashboard's page layer, and the fallbacks for unmatched requests).
//!
//! A hand-written service rather than `middleware::from_fn`: on the common path it adds no
//! allocation and no boxed future to a request; only an error answer under `/v1/` is
//! rewritten in a boxed future (its body has to be read).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};

use crate::auth::key_header_index;
use crate::drain::InFlight;
use crate::error::ApiError;
use crate::openai_errors;
use crate::router::method_label;
use crate::state::AppState;

#[derive(Clone)]
pub struct EdgeLayer(pub AppState);

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { state: self.0.clone(), inner }
    }
}

#[derive(Clone)]
pub struct Edge<S> {
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
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EdgeFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let state = &self.state;
        let path = req.uri().path();
        // Every error under /v1 (unknown routes and the auth layer's included) in OpenAI's shape.
        let openai = path.starts_with("/v1/");
        let early = if state.drain.is_draining() && !answers_while_draining(path) {
            state.metrics.request("draining", method_label(req.method()), 503);
            let mut refused =
                ApiError::NotReady("The server is shutting down; retry on another instance".into()).into_response();
            refused.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Some(refused)
        } else if declared_length(req.headers()).is_some_and(|n| n > state.max_body_bytes as u64) {
            // A body declared larger than the limit is refused before anything else runs
            // (bodies sent without a length are cut at the limit where they are read, in json.rs).
            state.metrics.request("unmatched", method_label(req.method()), 413);
            Some(ApiError::PayloadTooLarge { limit: state.max_body_bytes }.into_response())
        } else {
            None
        };
        if let Some(response) = early {
            return if openai {
                EdgeFuture::Reshape { inner: Box::pin(async move { Ok(openai_errors::reshape(response).await) }) }
            } else {
                EdgeFuture::Done { response: Some(response) }
            };
        }
        mark_sensitive(req.headers_mut());
        let in_flight = state.drain.enter();
        EdgeFuture::Inner { inner: self.inner.call(req), openai, in_flight: Some(in_flight) }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

pin_project_lite::pin_project! {
    #[project = EdgeFutureProj]
    pub enum EdgeFuture<F, E> {
        Inner { #[pin] inner: F, openai: bool, in_flight: Option<InFlight> },
        Done { response: Option<Response> },
        Reshape { inner: BoxFuture<'static, Result<Response, E>> },
    }
}

impl<F, E> Future for EdgeFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
    E: Send + 'static,
{
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match self.as_mut().project() {
            EdgeFutureProj::Inner { inner, openai, in_flight } => {
                let response = ready!(inner.poll(cx))?;
                let status = response.status();
                if !(*openai && (status.is_client_error() || status.is_server_error())) {
                    return Poll::Ready(Ok(response));
                }
                // The request counts as in flight until its error is rewritten.
                let in_flight = in_flight.take();
                Box::pin(async move {
                    let response = openai_errors::reshape(response).await;
                    drop(in_flight);
                    Ok(response)
                })
            }
            EdgeFutureProj::Done { response } => {
                return Poll::Ready(Ok(response
                    .take()
                    .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())));
            }
            EdgeFutureProj::Reshape { inner } => return inner.as_mut().poll(cx),
        };
        self.set(EdgeFuture::Reshape { inner: response });
        match self.project() {
            EdgeFutureProj::Reshape { inner } => inner.as_mut().poll(cx),
            _ => unreachable!("just set"),
        }
    }
}
