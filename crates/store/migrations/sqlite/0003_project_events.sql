-- The change feed for projects: a plan change reaches every instance's limiter like a key change.
CREATE TABLE project_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    at         INTEGER NOT NULL
);
