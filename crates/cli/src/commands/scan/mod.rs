//! `regpilot scan [PATH…]` (README.md, "Secret scanning"): RegPilot keys and admin tokens in
//! files, directories (honouring `.gitignore`, skipping binaries) and standard input. Only
//! checksum-valid strings count. A secret is shown by its display prefix, never in full.
//!
//! Exit status: 1 when a secret is found (with `--check`: a live one), else 2 when an input
//! could not be read or a check or report failed, else 0.

mod finder;
mod remote;
mod render;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use regpilot_control::{Control, FoundStatus, SecretKind, SecretStatus, MAX_STATUS_DIGESTS};
use regpilot_store::Store;

use crate::args::{ScanArgs, ScanFormat};
use crate::output::Failure;
use crate::settings::Settings;
use crate::CmdResult;
use finder::{Finder, Hit, Scanned};

/// One secret at one place.
#[derive(Debug)]
pub struct Finding {
    /// The path as given or walked (`-` for standard input).
    pub path: String,
    pub hit: Hit,
    pub prefix: String,
    /// Hex SHA-256 of the secret: what `--check` asks about.
    pub digest: String,
}

/// What was read.
#[derive(Debug, Default)]
pub struct Totals {
    pub files: u64,
    pub bytes: u64,
    pub binary_skipped: u64,
    pub unreadable: u64,
    pub seconds: f64,
}

pub async fn run(args: ScanArgs, server: Option<&str>, settings: &Settings, json: bool) -> CmdResult {
    let format = if json { ScanFormat::Json } else { args.format };
    if args.report && server.is_none() {
        return Err(Failure::usage("--report needs --server URL (or REGPILOT_SERVER): the gateway to report to"));
    }
    let reporter_token =
        match (args.report, args.reporter_token.as_deref().map(str::trim)) {
            (true, Some(t)) if !t.is_empty() => Some(t.to_owned()),
            (true, _) => return Err(Failure::usage(
                "--report needs the gateway's leak reporter token: --reporter-token or REGPILOT_LEAK_REPORTER_TOKEN",
            )),
            (false, _) => None,
        };
    let server = server.map(remote::Server::new).transpose()?;

    let started = Instant::now();
    let (findings, mut totals) = scan_inputs(&args.paths)?;
    totals.seconds = started.elapsed().as_secs_f64();

    let statuses = if args.check {
        let digests = unique(findings.iter().map(|f| f.digest.clone()));
        Some(match &server {
            Some(server) => server.statuses(&digests).await?,
            None => local_statuses(settings, &digests).await?,
        })
    } else {
        None
    };
    let verdicts = match (&server, reporter_token) {
        (Some(server), Some(token)) => Some(server.report(&findings, &token).await?),
        _ => None,
    };

    let out = render::Output {
        findings: &findings,
        statuses: statuses.as_ref(),
        verdicts: verdicts.as_deref(),
        totals: &totals,
    };
    let text = match format {
        ScanFormat::Text => out.text(),
        ScanFormat::Json => out.json(),
        ScanFormat::Sarif => out.sarif(),
    };
    print!("{text}");
    eprintln!("{}", out.summary());

    let flagged = match &statuses {
        Some(s) => findings.iter().any(|f| s.get(&f.digest).is_some_and(|st| st.status == FoundStatus::Live)),
        None => !findings.is_empty(),
    };
    if flagged {
        Err(Failure::silent("SECRETS_FOUND", 1))
    } else if totals.unreadable > 0 {
        Err(Failure::silent("UNREADABLE_INPUT", 2))
    } else {
        Ok(())
    }
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|d| seen.insert(d.clone())).collect()
}

/// `--check` against the store (the usual `--database-url`), by digest.
async fn local_statuses(settings: &Settings, digests: &[String]) -> Result<HashMap<String, SecretStatus>, Failure> {
    let store = super::open_store(settings).await?;
    let result = statuses_from(&Control::new(store.clone()), digests).await;
    Store::close(&store).await;
    result
}

async fn statuses_from(control: &Control, digests: &[String]) -> Result<HashMap<String, SecretStatus>, Failure> {
    let mut out = HashMap::new();
    for batch in digests.chunks(MAX_STATUS_DIGESTS) {
        for s in control.secret_statuses(batch).await? {
            out.insert(s.digest.clone(), s);
        }
    }
    Ok(out)
}

/// Every input in order: files and walked directories, `-` (or nothing) for standard input.
fn scan_inputs(paths: &[PathBuf]) -> Result<(Vec<Finding>, Totals), Failure> {
    let mut finder = Finder::new();
    let mut findings = Vec::new();
    let mut totals = Totals::default();
    let stdin_only = [PathBuf::from("-")];
    if paths.is_empty() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(Failure::usage("give the files or directories to scan (`.` for this one), or pipe text in"));
    }
    let paths = if paths.is_empty() { &stdin_only[..] } else { paths };
    for path in paths {
        if path.as_os_str() == "-" {
            let mut stdin = std::io::stdin().lock();
            scan_one(&mut finder, "-", &mut stdin, false, &mut findings, &mut totals);
            continue;
        }
        if !path.exists() {
            return Err(Failure::usage(format!("{}: no such file or directory", path.display())));
        }
        for entry in walker(path) {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("warning: {e}");
                    totals.unreadable += 1;
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let shown = entry.path().display().to_string();
            match std::fs::File::open(entry.path()) {
                Ok(mut file) => scan_one(&mut finder, &shown, &mut file, true, &mut findings, &mut totals),
                Err(e) => {
                    eprintln!("warning: cannot read {shown}: {e}");
                    totals.unreadable += 1;
                }
            }
        }
    }
    Ok((findings, totals))
}

/// ripgrep's rules: `.gitignore` (in or out of a git repository), `.ignore`, git's exclude
/// files; hidden files are searched (`.env` is where secrets sit) but `.git/` is not. A file
/// named on the command line is read whatever the ignore files say.
fn walker(path: &Path) -> ignore::Walk {
    ignore::WalkBuilder::new(path)
        .hidden(false)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| e.file_name() != ".git")
        .build()
}

fn scan_one(
    finder: &mut Finder,
    shown: &str,
    input: &mut dyn Read,
    skip_binary: bool,
    findings: &mut Vec<Finding>,
    totals: &mut Totals,
) {
    match finder.scan(input, skip_binary) {
        Ok(Scanned::Binary) => totals.binary_skipped += 1,
        Ok(Scanned::Text { hits, bytes }) => {
            totals.files += 1;
            totals.bytes += bytes;
            findings.extend(hits.into_iter().map(|hit| Finding {
                path: shown.to_owned(),
                prefix: regpilot_keys::display_prefix_of(&hit.secret),
                digest: regpilot_keys::digest(&hit.secret).to_hex(),
                hit,
            }));
        }
        Err(e) => {
            eprintln!("warning: cannot read {shown}: {e}");
            totals.unreadable += 1;
        }
    }
}

/// What a finding is, in words: `gateway key, production` or `admin token`.
pub fn describe(hit: &Hit) -> String {
    match hit.kind {
        SecretKind::ApiKey => match regpilot_keys::parse(&hit.secret) {
            Ok(p) => format!("{} key, {}", p.key_type, p.environment),
            Err(_) => "key".into(),
        },
        SecretKind::AdminToken => "admin token".into(),
    }
}
