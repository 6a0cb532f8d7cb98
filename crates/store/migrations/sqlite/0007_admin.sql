-- Personal admin tokens of dashboard users (README.md, "Admin API"): the store keeps only the
-- SHA-256 digest (lowercase hex) and the display prefix, never the token. Times are Unix
-- milliseconds (UTC).
CREATE TABLE admin_tokens (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    name           TEXT NOT NULL,
    digest         TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    -- 1: the token may only read, whatever its user's role.
    read_only      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    expires_at     INTEGER,
    last_used_at   INTEGER,
    revoked_at     INTEGER,
    revoked_by     TEXT
);
CREATE INDEX admin_tokens_user ON admin_tokens(user_id);

-- Key rolls (README.md, "Rolling a key"): the old key expires at the end of the grace period;
-- its uses after the roll are counted here by the usage writer.
CREATE TABLE key_rolls (
    old_key_id      TEXT PRIMARY KEY REFERENCES api_keys(id),
    new_key_id      TEXT NOT NULL UNIQUE REFERENCES api_keys(id),
    rolled_at       INTEGER NOT NULL,
    rolled_by       TEXT NOT NULL,
    grace_ends_at   INTEGER NOT NULL,
    uses_since_roll INTEGER NOT NULL DEFAULT 0,
    last_use_at     INTEGER
);
