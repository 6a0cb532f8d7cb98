-- The change feed for projects: a plan change reaches every instance's limiter like a key change.
CREATE TABLE project_events (
    seq        BIGSERIAL PRIMARY KEY,
    project_id TEXT NOT NULL,
    at         BIGINT NOT NULL
);
