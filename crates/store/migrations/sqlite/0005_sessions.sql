-- Dashboard sessions. The browser holds a random 128-bit session id; the store keeps only its
-- SHA-256 digest (lowercase hex), so a copy of the database opens no session. The CSRF token
-- is kept as is: every form of the session carries it, and alone it opens nothing. Times are
-- Unix milliseconds (UTC).
CREATE TABLE sessions (
    id_digest    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    -- Refreshed at most once a minute; the idle timeout counts from here.
    last_seen_at INTEGER NOT NULL,
    -- The absolute end of the session, whatever its activity.
    expires_at   INTEGER NOT NULL
);
-- Logout everywhere and user deactivation delete by user.
CREATE INDEX sessions_user ON sessions(user_id);
-- The sweep of expired sessions.
CREATE INDEX sessions_expires ON sessions(expires_at);
