//! Reading Server-Sent Events as they arrive: bytes in, the `data` of each complete event out.
//! (Only what the OpenAI stream protocol uses: `data:` lines, blank-line separated; comments and
//! other fields are skipped.)

#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Where the search for the next blank line resumes.
    scanned: usize,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet make a complete event.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The data of the next complete event, if one has arrived. Events without data lines are
    /// skipped.
    pub fn next_event(&mut self) -> Option<String> {
        loop {
            let (end, sep) = self.find_blank_line()?;
            let event: Vec<u8> = self.buf.drain(..end + sep).collect();
            self.scanned = 0;
            let mut data: Option<String> = None;
            for line in String::from_utf8_lossy(&event[..end]).split('\n') {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if let Some(rest) = line.strip_prefix("data") {
                    let value = match rest.strip_prefix(':') {
                        Some(v) => v.strip_prefix(' ').unwrap_or(v),
                        None if rest.is_empty() => "",
                        None => continue,
                    };
                    match &mut data {
                        Some(d) => {
                            d.push('\n');
                            d.push_str(value);
                        }
                        None => data = Some(value.to_owned()),
                    }
                }
            }
            if data.is_some() {
                return data;
            }
        }
    }

    /// The end of the first event and the length of the blank line after it.
    fn find_blank_line(&mut self) -> Option<(usize, usize)> {
        let b = &self.buf;
        let mut i = self.scanned;
        while i < b.len() {
            if b[i] == b'\n' {
                if b.get(i + 1) == Some(&b'\n') {
                    return Some((i, 2));
                }
                if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                    return Some((i, 3));
                }
            }
            i += 1;
        }
        self.scanned = b.len().saturating_sub(2);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_reads() {
        let mut p = SseParser::default();
        p.push(b"data: {\"a\"");
        assert_eq!(p.next_event(), None);
        p.push(b":1}\n\n: comment\n\ndata: [DONE]\n");
        assert_eq!(p.next_event().as_deref(), Some("{\"a\":1}"));
        assert_eq!(p.next_event(), None);
        p.push(b"\n");
        assert_eq!(p.next_event().as_deref(), Some("[DONE]"));
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn crlf_multiline_and_fields() {
        let mut p = SseParser::default();
        p.push(b"event: x\r\ndata:one\r\ndata: two\r\n\r\nid: 3\n\n");
        assert_eq!(p.next_event().as_deref(), Some("one\ntwo"));
        assert_eq!(p.next_event(), None);
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"data: a\n\ndata: b\n\n";
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for b in input {
            p.push(&[*b]);
            while let Some(e) = p.next_event() {
                out.push(e);
            }
        }
        assert_eq!(out, vec!["a", "b"]);
    }
}
