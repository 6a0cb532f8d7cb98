//! The in-memory key index: digest → key. The request path reads it; only the change-feed
//! follower writes it. Tombstones of deleted keys stay in it so logs and metrics can tell a
//! deleted key from an unknown one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use regpilot_control::KeyStatus;
use regpilot_keys::{DigestBuildHasher, Environment, KeyDigest, KeyType, Scopes};
use regpilot_store::KeyRow;

/// What the request path needs to know about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedKey {
    pub id: String,
    pub project_id: String,
    pub key_type: KeyType,
    pub environment: Environment,
    pub scopes: Scopes,
    pub status: KeyStatus,
    pub expires_at_ms: Option<i64>,
}

impl IndexedKey {
    /// `None` for a row this version cannot read (logged by the caller, never indexed).
    pub fn from_row(row: &KeyRow) -> Option<(KeyDigest, IndexedKey)> {
        let digest = KeyDigest::from_hex(&row.digest)?;
        let key = IndexedKey {
            id: row.id.clone(),
            project_id: row.project_id.clone(),
            key_type: row.key_type.parse().ok()?,
            environment: row.environment.parse().ok()?,
            scopes: Scopes::parse_list(&row.scopes).ok()?,
            status: KeyStatus::parse(&row.status)?,
            expires_at_ms: row.expires_at,
        };
        Some((digest, key))
    }
}

#[derive(Default)]
pub struct KeyIndex {
    map: RwLock<HashMap<KeyDigest, Arc<IndexedKey>, DigestBuildHasher>>,
}

impl KeyIndex {
    pub fn new() -> KeyIndex {
        KeyIndex::default()
    }

    pub fn get(&self, digest: &KeyDigest) -> Option<Arc<IndexedKey>> {
        // A poisoned lock only means a writer panicked mid-insert; the map is still usable.
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(digest).cloned()
    }

    /// Inserts or replaces keys. Rows that cannot be read are returned by id.
    pub fn upsert_rows<'a>(&self, rows: impl IntoIterator<Item = &'a KeyRow>) -> Vec<String> {
        let mut unreadable = Vec::new();
        let parsed: Vec<_> = rows
            .into_iter()
            .filter_map(|r| {
                let p = IndexedKey::from_row(r);
                if p.is_none() {
                    unreadable.push(r.id.clone());
                }
                p
            })
            .collect();
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        for (digest, key) in parsed {
            map.insert(digest, Arc::new(key));
        }
        unreadable
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
