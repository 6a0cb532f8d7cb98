//! The in-memory key index: digest → key. The request path reads it; only the change-feed
//! follower writes it. Tombstones of deleted keys stay in it so logs and metrics can tell a
//! deleted key from an unknown one.
//!
//! Memory matters here (an instance holds every key): entries sit in the map itself (no
//! allocation per key), key ids are stored inline (`CompactString`, no heap for ids up to 24
//! bytes), and a project's id is stored once and shared by all its keys. About 95 bytes a key.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use compact_str::CompactString;
use regpilot_control::KeyStatus;
use regpilot_keys::{DigestBuildHasher, Environment, KeyDigest, KeyType, Scopes};
use regpilot_store::KeyRow;

/// What the request path needs to know about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedKey {
    pub id: CompactString,
    pub project_id: Arc<str>,
    pub key_type: KeyType,
    pub environment: Environment,
    pub scopes: Scopes,
    pub status: KeyStatus,
    pub expires_at_ms: Option<i64>,
}

#[derive(Default)]
struct Inner {
    keys: HashMap<KeyDigest, IndexedKey, DigestBuildHasher>,
    /// One shared copy of each project id.
    projects: HashSet<Arc<str>>,
}

impl Inner {
    fn project(&mut self, id: &str) -> Arc<str> {
        if let Some(p) = self.projects.get(id) {
            return p.clone();
        }
        let p: Arc<str> = Arc::from(id);
        self.projects.insert(p.clone());
        p
    }

    /// `None` for a row this version cannot read (never indexed; the caller logs it).
    fn parse(&mut self, row: &KeyRow) -> Option<(KeyDigest, IndexedKey)> {
        let digest = KeyDigest::from_hex(&row.digest)?;
        let key = IndexedKey {
            key_type: row.key_type.parse().ok()?,
            environment: row.environment.parse().ok()?,
            scopes: Scopes::parse_list(&row.scopes).ok()?,
            status: KeyStatus::parse(&row.status)?,
            expires_at_ms: row.expires_at,
            id: CompactString::from(row.id.as_str()),
            project_id: self.project(&row.project_id),
        };
        Some((digest, key))
    }
}

#[derive(Default)]
pub struct KeyIndex {
    inner: RwLock<Inner>,
}

impl KeyIndex {
    pub fn new() -> KeyIndex {
        KeyIndex::default()
    }

    /// A copy of the entry (the project id is shared, not copied).
    pub fn get(&self, digest: &KeyDigest) -> Option<IndexedKey> {
        // A poisoned lock only means a writer panicked mid-insert; the map is still usable.
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.keys.get(digest).cloned()
    }

    /// Inserts or replaces keys. Returns the ids of rows that cannot be read.
    pub fn upsert_rows<'a>(&self, rows: impl IntoIterator<Item = &'a KeyRow>) -> Vec<String> {
        let mut unreadable = Vec::new();
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for row in rows {
            match inner.parse(row) {
                Some((digest, key)) => {
                    inner.keys.insert(digest, key);
                }
                None => unreadable.push(row.id.clone()),
            }
        }
        unreadable
    }

    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for `additional` more keys at once, before a bulk load: growing step by
    /// step would leave the freed smaller tables behind as heap fragmentation.
    pub fn reserve(&self, additional: usize) {
        self.inner.write().unwrap_or_else(|p| p.into_inner()).keys.reserve(additional);
    }
}
