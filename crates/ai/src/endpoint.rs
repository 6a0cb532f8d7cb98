//! A provider's endpoint, made once from its configured base URL: the `/chat/completions` URI
//! and the `Host` header value (crates/ai/src/catalogue.rs makes it, upstream.rs calls it).

use hyper::header::HeaderValue;
use hyper::Uri;

/// Where one provider's calls go: `{base_url}/chat/completions` as a URI and its `Host` header,
/// both made once.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) uri: Uri,
    pub(crate) host: HeaderValue,
    /// The URL as configured, for `Debug` only.
    text: Box<str>,
}

impl Endpoint {
    /// `None` for a URL that is not an absolute http(s) URI with a host.
    pub(crate) fn new(url: &url::Url) -> Option<Endpoint> {
        let mut url = url.clone();
        url.set_fragment(None);
        let host = url.host_str()?;
        // `url` leaves out a port that is the scheme's default, as `Host` must.
        let host = match url.port() {
            Some(port) => HeaderValue::from_str(&format!("{host}:{port}")).ok()?,
            None => HeaderValue::from_str(host).ok()?,
        };
        let uri = Uri::try_from(url.as_str()).ok()?;
        uri.authority()?;
        Some(Endpoint { uri, host, text: url.as_str().into() })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    #[cfg(test)]
    pub(crate) fn host(&self) -> &HeaderValue {
        &self.host
    }
}
