//! The probe's pure parts: the target (URL, headers and body into one raw HTTP/1.1 request),
//! the response scan that spots the first `data:` after the headers, and percentiles.

/// Where to send, and the request bytes to send there.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The whole raw request: `POST`, `Host`, `Content-Type`, `Content-Length`,
    /// `Connection: close`, the extra headers, then the body.
    pub(crate) request: Vec<u8>,
}

impl Target {
    /// Parses `http://host[:port][/path]` and the `Name: value` headers.
    pub(crate) fn parse(url: &str, headers: &[String], body: &str) -> Result<Target, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
        let (authority, path) = rest.find('/').map_or((rest, "/"), |slash| rest.split_at(slash));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().map_err(|_| format!("{url}: bad port {port:?}"))?)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for header in headers {
            let Some((name, value)) = header.split_once(':') else {
                return Err(format!("header {header:?} is not `Name: value`"));
            };
            request.push_str(&format!("{}: {}\r\n", name.trim(), value.trim()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        Ok(Target { host: host.to_owned(), port, request: request.into_bytes() })
    }
}

/// Reads a response as its bytes arrive: the status once the headers are complete, and whether
/// the body (raw: chunk-size lines and all) has shown `data:` yet.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Bytes kept until `data:` is found (then dropped).
    buf: Vec<u8>,
    /// The status, once the headers ended (0 if the status line is malformed).
    status: Option<u16>,
    /// Where in `buf` the search for `data:` goes on.
    searched: usize,
    found: bool,
}

impl Scan {
    /// Feeds the next bytes read; true exactly when these made the first `data:` appear.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> bool {
        if self.found {
            return false;
        }
        self.buf.extend_from_slice(bytes);
        if self.status.is_none() {
            let Some(end) = find(&self.buf, b"\r\n\r\n") else { return false };
            self.status = Some(parse_status(&self.buf[..end]));
            self.searched = end + 4;
        }
        if find(&self.buf[self.searched..], b"data:").is_some() {
            self.found = true;
            self.buf = Vec::new();
            return true;
        }
        // `data:` may straddle two reads: search again from 4 bytes before the end.
        self.searched = self.buf.len().saturating_sub(4).max(self.searched);
        false
    }

    /// The response status, once the headers are complete.
    pub(crate) fn status(&self) -> Option<u16> {
        self.status
    }
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The code of `HTTP/1.1 200 OK…`, or 0.
fn parse_status(head: &[u8]) -> u16 {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let code = String::from_utf8_lossy(line).split_whitespace().nth(1).and_then(|code| code.parse().ok());
    code.unwrap_or(0)
}

/// The nearest-rank `q` quantile (0 < q ≤ 1) of sorted `values`; None if empty.
pub(crate) fn percentile(values: &[u64], q: f64) -> Option<u64> {
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len().max(1));
    values.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNKED: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
        transfer-encoding: chunked\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n\
        55\r\ndata: {\"id\":\"chatcmpl-mock-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n\r\n\
        e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";

    #[test]
    fn first_data_in_a_chunked_response() {
        let mut scan = Scan::default();
        let bytes = CHUNKED.as_bytes();
        let header_end = CHUNKED.find("\r\n\r\n").unwrap() + 4;
        // The headers, split mid-way: no status yet, then the status.
        assert!(!scan.feed(&bytes[..20]));
        assert_eq!(scan.status(), None);
        assert!(!scan.feed(&bytes[20..header_end]));
        assert_eq!(scan.status(), Some(200));
        // The chunk-size line and `da`: not yet; `ta:` completes it.
        assert!(!scan.feed(&bytes[header_end..header_end + 6]));
        assert!(scan.feed(&bytes[header_end + 6..header_end + 9]));
        assert!(!scan.feed(&bytes[header_end + 9..]));
    }

    #[test]
    fn whole_response_at_once_and_errors() {
        let mut scan = Scan::default();
        assert!(scan.feed(CHUNKED.as_bytes()));
        let mut scan = Scan::default();
        assert!(!scan.feed(b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\n\r\n{}"));
        assert_eq!(scan.status(), Some(429));
        let mut scan = Scan::default();
        // A `data:` inside the headers does not count.
        assert!(!scan.feed(b"HTTP/1.1 200 OK\r\nx-note: data: no\r\n\r\n"));
        assert!(scan.feed(b"data: {}\n\n"));
    }

    #[test]
    fn targets_and_percentiles() {
        let target =
            Target::parse("http://localhost:8080/v1/chat/completions", &["Authorization: Bearer k".into()], "{}")
                .unwrap();
        assert_eq!((target.host.as_str(), target.port), ("localhost", 8080));
        let request = String::from_utf8(target.request).unwrap();
        assert!(request.starts_with("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:8080\r\n"));
        assert!(request.ends_with("Content-Length: 2\r\nConnection: close\r\nAuthorization: Bearer k\r\n\r\n{}"));
        let target = Target::parse("http://[::1]", &[], "").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("::1", 80));
        assert!(Target::parse("https://x/", &[], "").is_err());
        assert!(Target::parse("http://x/", &["nocolon".into()], "").is_err());
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), Some(50));
        assert_eq!(percentile(&values, 0.99), Some(99));
        assert_eq!(percentile(&values, 1.0), Some(100));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
