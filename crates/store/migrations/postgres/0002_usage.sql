-- Usage, aggregated per key: one row per (key, UTC hour) and per (key, UTC day, country), added
-- to by the gateway's usage recorder about once a second. Times are Unix milliseconds (UTC):
-- `hour` is the start of the hour, `day` midnight. No foreign keys on the usage tables: a
-- recorder batch must never fail because of one row.
CREATE TABLE usage_hourly (
    key_id         TEXT NOT NULL,
    project_id     TEXT NOT NULL,
    hour           BIGINT NOT NULL,
    -- Authenticated requests answered for the key, those refused by the rate limiter included.
    requests       BIGINT NOT NULL DEFAULT 0,
    -- Answered with a status >= 400 other than 429.
    errors         BIGINT NOT NULL DEFAULT 0,
    -- Refused by the rate limiter (429).
    limited        BIGINT NOT NULL DEFAULT 0,
    -- Attempts with this key while it was inactive, deleted or expired (401; not in requests).
    refused        BIGINT NOT NULL DEFAULT 0,
    -- Latency of the answered requests, microseconds.
    latency_us_sum BIGINT NOT NULL DEFAULT 0,
    latency_us_max BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour)
);
CREATE INDEX usage_hourly_project ON usage_hourly(project_id, hour);
-- The alert rules look at the current and the previous hour of every key.
CREATE INDEX usage_hourly_hour ON usage_hourly(hour);

CREATE TABLE usage_countries (
    key_id     TEXT NOT NULL,
    project_id TEXT NOT NULL,
    day        BIGINT NOT NULL,
    -- ISO 3166-1 alpha-2, or "unknown" when the client address has no country.
    country    TEXT NOT NULL,
    requests   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day, country)
);
CREATE INDEX usage_countries_project ON usage_countries(project_id, day);
CREATE INDEX usage_countries_day ON usage_countries(day);

-- Unusual activity, raised by the alert rules. `dedupe` names the occurrence (rule, key, hour
-- or day) so that a rule run twice, or by two instances, raises it once.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects(id),
    key_id          TEXT,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    message         TEXT NOT NULL,
    -- A JSON object with the figures behind the alert.
    detail          TEXT NOT NULL,
    dedupe          TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT
);
CREATE INDEX alerts_project ON alerts(project_id, created_at);
