//! A key's usage counters, declared once: the struct, how two values combine, and the column
//! of `usage_hourly` each one is stored in. Every SQL text that names the counters is
//! built from [`COUNTERS`], so a new counter is a field, one line there and a migration.

use sqlx::any::AnyRow;
use sqlx::Row;

/// A key's counters: of one hour, or added up over a period or a time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageCounts {
    /// Authenticated requests answered, those refused by the rate limiter (429) included.
    pub requests: i64,
    /// Answered with a status >= 400 other than 429.
    pub errors: i64,
    /// Refused by the rate limiter (429).
    pub limited: i64,
    /// Attempts while the key was inactive, deleted or expired (401); not in `requests`.
    pub refused: i64,
    /// Latency of the answered requests, microseconds.
    pub latency_us_sum: i64,
    /// The slowest answered request, microseconds: a maximum, never added up.
    pub latency_us_max: i64,
}

/// How two values of one counter combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    Sum,
    Max,
}

impl Merge {
    fn apply(self, a: i64, b: i64) -> i64 {
        match self {
            Merge::Sum => a + b,
            Merge::Max => a.max(b),
        }
    }
}

/// One counter: its `usage_hourly` column (named like the field) and how it combines.
pub(crate) struct Counter {
    column: &'static str,
    merge: Merge,
    pub(crate) get: fn(&UsageCounts) -> i64,
    set: fn(&mut UsageCounts) -> &mut i64,
}

/// Every field of [`UsageCounts`], in the order of the columns in the SQL built here.
pub(crate) const COUNTERS: &[Counter] = &[
    Counter { column: "requests", merge: Merge::Sum, get: |c| c.requests, set: |c| &mut c.requests },
    Counter { column: "errors", merge: Merge::Sum, get: |c| c.errors, set: |c| &mut c.errors },
    Counter { column: "limited", merge: Merge::Sum, get: |c| c.limited, set: |c| &mut c.limited },
    Counter { column: "refused", merge: Merge::Sum, get: |c| c.refused, set: |c| &mut c.refused },
    Counter { column: "latency_us_sum", merge: Merge::Sum, get: |c| c.latency_us_sum, set: |c| &mut c.latency_us_sum },
    Counter { column: "latency_us_max", merge: Merge::Max, get: |c| c.latency_us_max, set: |c| &mut c.latency_us_max },
];

impl UsageCounts {
    /// Adds `other` in: sums add up, the maximum latency is the larger of the two.
    pub fn add(&mut self, other: &UsageCounts) {
        for c in COUNTERS {
            let merged = c.merge.apply((c.get)(self), (c.get)(other));
            *(c.set)(self) = merged;
        }
    }

    /// Counts one answered request.
    pub fn record_answer(&mut self, status: u16, latency_us: u64, limited: bool) {
        let latency = i64::try_from(latency_us).unwrap_or(i64::MAX);
        self.requests += 1;
        self.limited += i64::from(limited);
        self.errors += i64::from(status >= 400 && status != 429);
        self.latency_us_sum = self.latency_us_sum.saturating_add(latency);
        self.latency_us_max = self.latency_us_max.max(latency);
    }

    /// Counts one attempt refused because the key was inactive, deleted or expired.
    pub fn record_refusal(&mut self) {
        self.refused += 1;
    }

    /// Reads the counters from the columns of a row named like them.
    pub(crate) fn from_row(r: &AnyRow) -> Result<UsageCounts, sqlx::Error> {
        let mut out = UsageCounts::default();
        for c in COUNTERS {
            *(c.set)(&mut out) = r.try_get(c.column)?;
        }
        Ok(out)
    }
}

/// `requests, errors, …`: the counter columns, in order.
pub(crate) fn column_list() -> String {
    COUNTERS.iter().map(|c| c.column).collect::<Vec<_>>().join(", ")
}

/// The `SET` list of an upsert into `table` that adds a row's counters to the existing row's.
pub(crate) fn upsert_set(table: &str) -> String {
    COUNTERS
        .iter()
        .map(|c| {
            let col = c.column;
            match c.merge {
                Merge::Sum => format!("{col} = {table}.{col} + excluded.{col}"),
                Merge::Max => format!(
                    "{col} = CASE WHEN excluded.{col} > {table}.{col} THEN excluded.{col} ELSE {table}.{col} END"
                ),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The counters added up over the grouped rows, each named like its column (0 without rows).
pub(crate) fn select_totals() -> String {
    COUNTERS
        .iter()
        .map(|c| {
            let aggregate = match c.merge {
                Merge::Sum => "SUM",
                Merge::Max => "MAX",
            };
            format!("CAST(COALESCE({aggregate}({col}), 0) AS BIGINT) AS {col}", col = c.column)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_column_in_order() {
        // A literal without `..`: a new field does not compile here until it is listed.
        let c = UsageCounts { requests: 1, errors: 2, limited: 3, refused: 4, latency_us_sum: 5, latency_us_max: 6 };
        let got: Vec<i64> = COUNTERS.iter().map(|k| (k.get)(&c)).collect();
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6]);
        let mut set = UsageCounts::default();
        for (i, k) in COUNTERS.iter().enumerate() {
            *(k.set)(&mut set) = i as i64 + 1;
        }
        assert_eq!(set, c);
        assert_eq!(column_list(), "requests, errors, limited, refused, latency_us_sum, latency_us_max");
    }

    #[test]
    fn sums_add_and_the_maximum_stays_a_maximum() {
        let mut a =
            UsageCounts { requests: 3, errors: 1, limited: 1, refused: 2, latency_us_sum: 300, latency_us_max: 200 };
        a.add(&UsageCounts { requests: 2, errors: 0, limited: 1, refused: 0, latency_us_sum: 50, latency_us_max: 40 });
        assert_eq!(
            a,
            UsageCounts { requests: 5, errors: 1, limited: 2, refused: 2, latency_us_sum: 350, latency_us_max: 200 }
        );
        a.add(&UsageCounts { latency_us_max: 900, ..UsageCounts::default() });
        assert_eq!((a.requests, a.latency_us_max), (5, 900));
    }

    #[test]
    fn outcomes_are_counted() {
        let mut c = UsageCounts::default();
        c.record_answer(200, 100, false);
        c.record_answer(500, 900, false);
        c.record_answer(429, 5, true);
        c.record_refusal();
        assert_eq!(
            c,
            UsageCounts { requests: 3, errors: 1, limited: 1, refused: 1, latency_us_sum: 1005, latency_us_max: 900 }
        );
    }

    #[test]
    fn sql_names_every_counter() {
        assert_eq!(
            upsert_set("t"),
            "requests = t.requests + excluded.requests, errors = t.errors + excluded.errors, \
             limited = t.limited + excluded.limited, refused = t.refused + excluded.refused, \
             latency_us_sum = t.latency_us_sum + excluded.latency_us_sum, \
             latency_us_max = CASE WHEN excluded.latency_us_max > t.latency_us_max \
             THEN excluded.latency_us_max ELSE t.latency_us_max END"
        );
        assert_eq!(
            select_totals(),
            "CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests, \
             CAST(COALESCE(SUM(errors), 0) AS BIGINT) AS errors, \
             CAST(COALESCE(SUM(limited), 0) AS BIGINT) AS limited, \
             CAST(COALESCE(SUM(refused), 0) AS BIGINT) AS refused, \
             CAST(COALESCE(SUM(latency_us_sum), 0) AS BIGINT) AS latency_us_sum, \
             CAST(COALESCE(MAX(latency_us_max), 0) AS BIGINT) AS latency_us_max"
        );
    }
}
