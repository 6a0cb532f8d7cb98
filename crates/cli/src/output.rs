//! Printing results and failures.

use regpilot_control::ControlError;
use serde::Serialize;

/// A failed command: a message for people, a code for scripts, an exit status.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: &'static str,
    pub exit: i32,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: "INVALID_ARGUMENT", exit: 2 }
    }

    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), code: "ERROR", exit: 1 }
    }

    /// The store could not be reached: the same code as the gateway's 503.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Failure {
        Failure {
            message: format!("the store is not answering ({cause}); try again shortly"),
            code: "NOT_READY",
            exit: 1,
        }
    }

    /// An exit status whose reason was already printed (`scan` finding a secret).
    pub fn silent(code: &'static str, exit: i32) -> Failure {
        Failure { message: String::new(), code, exit }
    }

    /// Prints to stderr (and as JSON on stdout with `--json`); returns the exit status.
    pub fn report(self, json: bool) -> i32 {
        if self.message.is_empty() {
            return self.exit;
        }
        eprintln!("error: {}", self.message);
        if json {
            println!("{}", serde_json::json!({ "error": self.message, "code": self.code }));
        }
        self.exit
    }
}

impl From<ControlError> for Failure {
    fn from(e: ControlError) -> Self {
        match &e {
            ControlError::Invalid { .. } => Failure { message: e.to_string(), code: "INVALID_ARGUMENT", exit: 2 },
            ControlError::NotFound { .. } => Failure { message: e.to_string(), code: "NOT_FOUND", exit: 1 },
            ControlError::Conflict(_) => Failure { message: e.to_string(), code: "CONFLICT", exit: 1 },
            ControlError::Store(_) if e.is_unavailable() => Failure::unavailable(&e),
            ControlError::Busy { .. } | ControlError::Store(_) | ControlError::Internal(_) => {
                Failure::runtime(e.to_string())
            }
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::runtime(format!("{e:#}"))
    }
}

/// Prints `value` as one JSON object when `json`, else the human text.
pub fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string(value).map_err(|e| Failure::runtime(format!("cannot encode output: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", human());
    }
    Ok(())
}

/// Columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}
