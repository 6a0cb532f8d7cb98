-- The Governor (docs/governor.md). Times are Unix milliseconds (UTC); flags are 0/1.

-- A project's Governor settings. No row: the defaults (mode sanitize, the plan decides whether
-- it is on, prompts not checked, violations opened for high results).
CREATE TABLE governor_settings (
    project_id    TEXT PRIMARY KEY REFERENCES projects(id),
    mode          TEXT NOT NULL,
    -- NULL: the plan decides (pro and enterprise on, free off).
    enabled       INTEGER,
    check_prompts INTEGER NOT NULL,
    -- The lowest level that opens a compliance violation: 'high' or 'medium'.
    violations    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Custom policies. A change bumps `version` and writes a project event, so every instance
-- rebuilds the project's compiled policy set within a second.
CREATE TABLE governor_policies (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    -- A JSON array of strings.
    keywords    TEXT NOT NULL,
    pattern     TEXT,
    applies_to  TEXT NOT NULL,
    action      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    replacement TEXT,
    appendix    TEXT,
    enabled     INTEGER NOT NULL,
    shadow      INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX governor_policies_project ON governor_policies(project_id, created_at);

-- One row per validation. Findings name rules, categories, severities and offsets, never the
-- matched text; the texts themselves are kept only as SHA-256 digests, unless
-- governor_store_content is on (then `content` holds the delivered text).
CREATE TABLE governor_audits (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects(id),
    key_id            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    target            TEXT NOT NULL,
    action_type       TEXT NOT NULL,
    sender_id         TEXT NOT NULL,
    recipient_country TEXT NOT NULL,
    risk_score        INTEGER NOT NULL,
    risk_level        TEXT NOT NULL,
    action            TEXT NOT NULL,
    mode              TEXT NOT NULL,
    -- A JSON array of {rule, category, severity, start, end, shadow}.
    findings          TEXT NOT NULL,
    original_sha256   TEXT NOT NULL,
    delivered_sha256  TEXT NOT NULL,
    content           TEXT,
    violation_id      TEXT
);
CREATE INDEX governor_audits_project ON governor_audits(project_id, created_at, id);
