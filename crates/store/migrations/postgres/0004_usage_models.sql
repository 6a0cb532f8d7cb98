-- AI usage, aggregated per key: one row per (key, UTC hour, model, provider), added to by the
-- gateway's usage recorder in the same batch as usage_hourly. `hour` is Unix milliseconds at
-- the start of the hour (UTC). Cost is in millionths of a US cent, an integer so that sums are
-- exact. No foreign keys, like the other usage tables: a recorder batch must never fail
-- because of one row.
CREATE TABLE usage_models (
    key_id            TEXT NOT NULL,
    project_id        TEXT NOT NULL,
    hour              BIGINT NOT NULL,
    -- The model as the provider names it, and the provider that answered.
    model             TEXT NOT NULL,
    provider          TEXT NOT NULL,
    -- AI calls answered (each is also one of usage_hourly.requests).
    calls             BIGINT NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    -- Millionths of a US cent.
    cost_ucents       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour, model, provider)
);
CREATE INDEX usage_models_project ON usage_models(project_id, hour);
-- Retention deletes by hour.
CREATE INDEX usage_models_hour ON usage_models(hour);
