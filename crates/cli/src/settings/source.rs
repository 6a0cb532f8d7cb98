//! Reading one setting: command-line flag, then environment variable, then settings file, then
//! default, then its bounds. Every setting read is also recorded, so the example file and the
//! README table are written from the same declarations that load the settings.

use std::fmt::Display;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use serde::de::DeserializeOwned;

/// One setting, declared where its value is used (see `Settings::read`).
pub struct Setting<T> {
    key: &'static str,
    env: &'static str,
    doc: &'static str,
    note: &'static str,
    section: &'static str,
    default: Option<T>,
    /// For a setting without a fixed default: what happens when it is unset (README text) and
    /// a value to show, commented out, in the example file.
    unset: (&'static str, &'static str),
    min: Option<T>,
    max: Option<T>,
    why: &'static str,
    flag: (&'static str, Option<T>),
}

impl<T: Value> Setting<T> {
    /// `key` in the settings file, `env` its environment variable, `doc` one sentence for the
    /// example file and the README.
    pub fn new(key: &'static str, env: &'static str, doc: &'static str) -> Self {
        Setting {
            key,
            env,
            doc,
            note: "",
            section: "",
            default: None,
            unset: ("none", ""),
            min: None,
            max: None,
            why: "",
            flag: ("", None),
        }
    }

    pub fn default(self, value: T) -> Self {
        Setting { default: Some(value), ..self }
    }

    /// No fixed default: `what` says what happens then, `example` is a TOML value to show.
    pub fn unset(self, what: &'static str, example: &'static str) -> Self {
        Setting { unset: (what, example), ..self }
    }

    pub fn range(self, min: T, max: T) -> Self {
        Setting { min: Some(min), max: Some(max), ..self }
    }

    pub fn at_least(self, min: T) -> Self {
        Setting { min: Some(min), ..self }
    }

    /// Why the bounds are what they are, added to the error.
    pub fn why(self, why: &'static str) -> Self {
        Setting { why, ..self }
    }

    /// A command-line option that, when given, wins over everything else.
    pub fn flag(self, name: &'static str, value: Option<T>) -> Self {
        Setting { flag: (name, value), ..self }
    }

    /// More lines for the example file only.
    pub fn note(self, note: &'static str) -> Self {
        Setting { note, ..self }
    }

    /// This setting starts a section of the example file.
    pub fn section(self, title: &'static str) -> Self {
        Setting { section: title, ..self }
    }

    fn bounds(&self) -> String {
        match (&self.min, &self.max) {
            (Some(min), Some(max)) => format!("{}–{}", min.show(), max.show()),
            (Some(min), None) => format!("at least {}", min.show()),
            (None, Some(max)) => format!("at most {}", max.show()),
            (None, None) => String::new(),
        }
    }

    fn check(&self, value: &T) -> Result<()> {
        let low = self.min.as_ref().is_some_and(|min| value < min);
        let high = self.max.as_ref().is_some_and(|max| value > max);
        if !(low || high) {
            return Ok(());
        }
        let key = self.key;
        let why = if self.why.is_empty() { String::new() } else { format!(" ({})", self.why) };
        match (&self.min, &self.max) {
            (Some(min), Some(max)) => bail!("{key} must be between {} and {}{why}", min.show(), max.show()),
            _ => bail!("{key} must be {}{why}", self.bounds()),
        }
    }

    fn doc(&self) -> Doc {
        Doc {
            key: self.key,
            env: self.env,
            doc: self.doc,
            note: self.note,
            section: self.section,
            flag: self.flag.0,
            bounds: self.bounds(),
            default: match &self.default {
                Some(v) => DocDefault::Value { toml: v.toml(), shown: v.show() },
                None => DocDefault::Unset { what: self.unset.0, example: self.unset.1 },
            },
        }
    }
}

/// A setting as the example file and the README table describe it.
// Outside tests only `key` is read (in the unknown-key error); the renderers are tests.
#[cfg_attr(not(test), allow(dead_code))]
pub struct Doc {
    pub key: &'static str,
    pub env: &'static str,
    pub doc: &'static str,
    pub note: &'static str,
    pub section: &'static str,
    pub flag: &'static str,
    /// `10–1000`, `at least 1`, or empty.
    pub bounds: String,
    pub default: DocDefault,
}

#[cfg_attr(not(test), allow(dead_code))]
pub enum DocDefault {
    /// The default as TOML, and as the README shows it.
    Value {
        toml: String,
        shown: String,
    },
    Unset {
        what: &'static str,
        example: &'static str,
    },
}

/// Where settings are read from: the settings file's top-level keys and the environment.
pub struct Source<'a> {
    file: toml::Table,
    file_name: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Every setting read, in order.
    pub docs: Vec<Doc>,
}

impl<'a> Source<'a> {
    pub fn new(file: toml::Table, file_name: &'a str, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Source { file, file_name, env, docs: Vec::new() }
    }

    /// The value, or an error when it is invalid or has no default and is not set.
    pub fn read<T: Value>(&mut self, setting: Setting<T>) -> Result<T> {
        let key = setting.key;
        self.read_opt(setting)?.ok_or_else(|| anyhow!("{key} is not set"))
    }

    /// The value, or `None` when it has no default and is not set.
    pub fn read_opt<T: Value>(&mut self, mut setting: Setting<T>) -> Result<Option<T>> {
        self.docs.push(setting.doc());
        let key = setting.key;
        // Taken out (and checked) even when overridden: what is left in the file is unknown.
        let in_file = match self.file.remove(key) {
            None => None,
            Some(value) => {
                Some(value.try_into().map_err(|e| anyhow!("invalid settings file {}: {key}: {e}", self.file_name))?)
            }
        };
        let value = match setting.flag.1.take() {
            Some(v) => Some(v),
            None => self.in_env(&setting)?.or(in_file),
        };
        let value = value.or_else(|| setting.default.take());
        if let Some(v) = &value {
            setting.check(v)?;
        }
        Ok(value)
    }

    fn in_env<T: Value>(&self, setting: &Setting<T>) -> Result<Option<T>> {
        let name = setting.env;
        match (self.env)(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(text) => T::from_env(&text).map(Some).map_err(|e| anyhow!("{name}={text:?} is not valid: {e}")),
        }
    }

    /// The file's keys no setting read, other than `ignored`.
    pub fn unknown_keys(&self, ignored: &str) -> Vec<&str> {
        self.file.keys().map(String::as_str).filter(|k| *k != ignored).collect()
    }
}

/// A type a setting holds: read from an environment variable or from the file (any
/// `Deserialize` type), and shown in the example file and the README.
pub trait Value: DeserializeOwned + PartialOrd {
    fn from_env(text: &str) -> Result<Self, String>;
    /// As TOML.
    fn toml(&self) -> String;
    /// As the README shows it.
    fn show(&self) -> String;
}

fn parse_trimmed<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: Display,
{
    text.trim().parse().map_err(|e: T::Err| e.to_string())
}

macro_rules! plain_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn from_env(text: &str) -> Result<Self, String> {
                parse_trimmed(text)
            }
            fn toml(&self) -> String {
                self.to_string()
            }
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

plain_value!(u64, i64, usize, bool);

/// A TOML basic string (the texts here need no escape beyond these two).
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Value for String {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
    fn toml(&self) -> String {
        toml_string(self)
    }
    fn show(&self) -> String {
        self.clone()
    }
}

impl Value for PathBuf {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
    fn toml(&self) -> String {
        toml_string(&self.display().to_string())
    }
    fn show(&self) -> String {
        self.display().to_string()
    }
}

/// A list: comma-separated in the environment variable, an array in the file.
impl Value for Vec<String> {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(text.split(',').map(str::to_owned).collect())
    }
    fn toml(&self) -> String {
        format!("[{}]", self.iter().map(|s| toml_string(s)).collect::<Vec<_>>().join(", "))
    }
    fn show(&self) -> String {
        self.join(",")
    }
}
