//! The example settings file and the README's settings table, written from the declarations
//! in `Settings::read`; the test here fails when the committed files differ. To rewrite them:
//! `UPDATE_SETTINGS_DOCS=1 cargo nextest run -p regpilot-cli settings`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use super::source::{Doc, DocDefault};
use super::Settings;

const EXAMPLE_HEADER: &str = "\
# RegPilot Gateway settings. Every setting is optional and has a default that works on one
# machine. Precedence: command-line flag > environment variable > this file > default.
# Pass this file with `regpilot --config regpilot.example.toml …` or REGPILOT_CONFIG.
# Written from crates/cli/src/settings.rs (see crates/cli/src/settings/docs.rs).
";

/// The `[ai]` table is the file's only nested one; it is documented in docs/ai-gateway.md.
const EXAMPLE_AI: &str = r#"# --- AI gateway (the file only; docs/ai-gateway.md) ---
# Development keys are always answered by the built-in simulator (no network, no cost).
# Staging and production keys go to the provider that offers the chosen model.
[ai]
# Longest wait for a connection to an upstream (ms).
connect_timeout_ms = 5000
# Longest wait for an upstream's answer to begin (for a non-streamed call: all of it), seconds.
response_timeout_secs = 120
# Longest silence between two chunks of a stream before it is ended with an error event.
stream_idle_timeout_secs = 60
# Longest a stream may run, however steadily it flows, before it is ended with an error event.
stream_max_duration_secs = 900
# Largest answer read from an upstream: a non-streamed body, or one event of a stream (bytes).
upstream_body_limit_bytes = 16777216
# Pause before each chunk of a simulated stream (ms), to look like a model typing.
simulator_chunk_delay_ms = 0

# Which model each quality tier (`quality` in a request) routes to. A tier left out uses its
# default (gpt-4o-mini, gpt-4o, gpt-4.1) when offered, else the first model configured.
[ai.quality]
cheap = "gpt-4o-mini"
balanced = "gpt-4o"
frontier = "gpt-4.1"

# Upstreams: any number of OpenAI-compatible servers (OpenAI, vLLM, Ollama, llama.cpp server,
# another gateway). Without this list there is one: OpenAI at https://api.openai.com/v1 (or
# OPENAI_BASE_URL), its key from OPENAI_API_KEY, offering the three models above. The key is
# read at start from an environment variable (api_key_env) or a file (api_key_file); neither:
# no Authorization header (local servers). Prices are US cents per 1,000 tokens (costCents).
[[ai.providers]]
name = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"
models = [
  { id = "gpt-4o-mini", prompt_cents_per_1k = 0.015, completion_cents_per_1k = 0.06 },
  { id = "gpt-4o", prompt_cents_per_1k = 0.25, completion_cents_per_1k = 1.0 },
  { id = "gpt-4.1", prompt_cents_per_1k = 0.2, completion_cents_per_1k = 0.8 },
]

# [[ai.providers]]
# name = "local"
# base_url = "http://127.0.0.1:11434/v1"        # Ollama
# models = [{ id = "llama3.1" }]
"#;

const TABLE_START: &str =
    "<!-- settings table: written from crates/cli/src/settings.rs (see crates/cli/src/settings/docs.rs) -->";
const TABLE_END: &str = "<!-- end of the settings table -->";

/// Rows for what is not a setting of the loader: the `[ai]` table and the log level.
const TABLE_TAIL: &str = "\
| `[ai]` table | (file only) | OpenAI, key from `OPENAI_API_KEY` | Providers, models and prices, quality tiers, upstream timeouts, simulator pace: [`docs/ai-gateway.md`](docs/ai-gateway.md). |
| log level | `RUST_LOG` | `info` for `serve`, `warn` for other commands | |
";

/// Comment lines of at most this many characters.
const WIDTH: usize = 95;

fn comment(text: &str, out: &mut String) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > WIDTH && line != "#" {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

fn example(docs: &[Doc]) -> String {
    let mut out = String::from(EXAMPLE_HEADER);
    for d in docs {
        if !d.section.is_empty() {
            out.push_str(&format!("\n# --- {} ---\n", d.section));
        }
        out.push('\n');
        comment(&format!("{} {}", d.doc, d.note), &mut out);
        let mut source = format!("env {}", d.env);
        if !d.flag.is_empty() {
            source.push_str(&format!(" or `{}`", d.flag));
        }
        if !d.bounds.is_empty() {
            source.push_str(&format!(" ({})", d.bounds));
        }
        match &d.default {
            DocDefault::Value { toml, .. } => {
                comment(&source, &mut out);
                out.push_str(&format!("{} = {toml}\n", d.key));
            }
            DocDefault::Unset { what, example } => {
                comment(&format!("{source}; default: {what}"), &mut out);
                out.push_str(&format!("# {} = {example}\n", d.key));
            }
        }
    }
    out.push('\n');
    out.push_str(EXAMPLE_AI);
    out
}

fn table(docs: &[Doc]) -> String {
    let mut out = String::from("| setting | environment variable | default | meaning |\n|---|---|---|---|\n");
    for d in docs {
        let mut env = format!("`{}`", d.env);
        if !d.flag.is_empty() {
            env.push_str(&format!(" (or `{}`)", d.flag));
        }
        if !d.bounds.is_empty() {
            env.push_str(&format!(" ({})", d.bounds));
        }
        let default = match &d.default {
            DocDefault::Value { shown, .. } if shown.is_empty() => "none".to_owned(),
            DocDefault::Value { shown, .. } => format!("`{shown}`"),
            DocDefault::Unset { what, .. } => what.to_string(),
        };
        out.push_str(&format!("| `{}` | {env} | {default} | {} |\n", d.key, d.doc));
    }
    out.push_str(TABLE_TAIL);
    out
}

/// `readme` with the text between the markers replaced by `table`.
fn with_table(readme: &str, table: &str) -> String {
    let start = readme.find(TABLE_START).expect("the README has the settings table's start marker");
    let end = readme.find(TABLE_END).expect("the README has the settings table's end marker");
    format!("{}{TABLE_START}\n{table}{}", &readme[..start], &readme[end..])
}

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(name)
}

/// Rewrites `path` when UPDATE_SETTINGS_DOCS is set; otherwise fails if it differs.
fn check(path: &Path, expected: &str) {
    let actual = std::fs::read_to_string(path).unwrap();
    if std::env::var_os("UPDATE_SETTINGS_DOCS").is_some() {
        if actual != expected {
            std::fs::write(path, expected).unwrap();
        }
        return;
    }
    assert!(
        actual == expected,
        "{} differs from what crates/cli/src/settings.rs declares; rewrite it with \
         UPDATE_SETTINGS_DOCS=1 cargo nextest run -p regpilot-cli settings\n--- expected:\n{expected}",
        path.display()
    );
}

#[test]
fn the_example_file_and_the_readme_table_follow_the_declarations() {
    let docs = Settings::docs().unwrap();
    check(&repo_file("regpilot.example.toml"), &example(&docs));
    let readme_path = repo_file("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    check(&readme_path, &with_table(&readme, &table(&docs)));
}

#[test]
fn every_setting_has_its_own_key_and_variable() {
    let docs = Settings::docs().unwrap();
    for (i, d) in docs.iter().enumerate() {
        assert!(d.env.starts_with("REGPILOT_"), "{}", d.key);
        assert!(docs[..i].iter().all(|e| e.key != d.key && e.env != d.env), "{} declared twice", d.key);
    }
}
