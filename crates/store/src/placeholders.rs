//! Parameter placeholders for statements with many parameters (multi-row writes, `IN` lists).
//!
//! The store's SQL uses `$N` placeholders, which both backends accept. On SQLite a `$N` is a
//! *named* parameter, and sqlx binds each one by asking SQLite for its name, which SQLite finds
//! by a linear search over the statement's names: binding n named parameters costs O(n²). For a
//! 100-row audit `INSERT` (1,700 parameters) that search took more CPU than the insert itself
//! (bench/README.md). SQLite's plain `?` parameters are unnamed and bind in order in O(1), so
//! long lists are written with `?` there and with `$N` on PostgreSQL, which requires them.

use crate::Backend;

/// `($1, $2, …), ($width+1, …)` (PostgreSQL) or `(?, ?, …), (?, …)` (SQLite): `rows` rows of
/// `width` parameters, numbered from 1. Only for statements with no other parameters before
/// these.
pub(crate) fn values_list(backend: Backend, rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 6);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        push_list(&mut out, backend, r * width + 1, width);
        out.push(')');
    }
    out
}

/// `$1, $2, …, $count` or `?, ?, …`: a flat list, numbered from 1.
pub(crate) fn list(backend: Backend, count: usize) -> String {
    let mut out = String::with_capacity(count * 6);
    push_list(&mut out, backend, 1, count);
    out
}

fn push_list(out: &mut String, backend: Backend, first: usize, count: usize) {
    use std::fmt::Write as _;
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        match backend {
            Backend::Sqlite => out.push('?'),
            // Writing to a String cannot fail.
            Backend::Postgres => {
                let _ = write!(out, "${}", first + i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_numbers_every_parameter_and_sqlite_leaves_them_unnamed() {
        assert_eq!(values_list(Backend::Postgres, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_list(Backend::Postgres, 1, 1), "($1)");
        assert_eq!(values_list(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(list(Backend::Postgres, 3), "$1, $2, $3");
        assert_eq!(list(Backend::Sqlite, 3), "?, ?, ?");
        assert_eq!(list(Backend::Sqlite, 0), "");
    }
}
