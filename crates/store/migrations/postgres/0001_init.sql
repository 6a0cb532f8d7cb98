-- Times are Unix milliseconds (UTC). Digests are lowercase hex SHA-256; secrets are never stored.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    daily_limit BIGINT,
    burst       BIGINT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects(id),
    name           TEXT NOT NULL,
    key_type       TEXT NOT NULL,
    environment    TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    status         TEXT NOT NULL,
    digest         TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    expires_at     BIGINT,
    last_used_at   BIGINT,
    deleted_at     BIGINT
);
CREATE INDEX api_keys_project ON api_keys(project_id);

-- The change feed: one row per key change, numbered; every instance follows it.
CREATE TABLE key_events (
    seq    BIGSERIAL PRIMARY KEY,
    key_id TEXT NOT NULL,
    action TEXT NOT NULL,
    at     BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    project_id  TEXT,
    detail      TEXT
);
CREATE INDEX audit_log_target ON audit_log(target_id);
CREATE INDEX audit_log_project ON audit_log(project_id);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    must_change_password BIGINT NOT NULL,
    created_at           BIGINT NOT NULL
);

CREATE TABLE violations (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects(id),
    title           TEXT NOT NULL,
    description     TEXT,
    severity        TEXT NOT NULL,
    category        TEXT,
    model_id        TEXT,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    resolved_at     BIGINT,
    resolved_by     TEXT,
    resolution_note TEXT
);
CREATE INDEX violations_project ON violations(project_id, status);

CREATE TABLE ai_models (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    provider    TEXT,
    version     TEXT,
    purpose     TEXT,
    risk_level  TEXT NOT NULL,
    owner       TEXT,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE INDEX ai_models_project ON ai_models(project_id, status);
