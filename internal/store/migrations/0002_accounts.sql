-- Accounts: a login name and an argon2id password hash (empty for the
-- local user of a loopback server, who never logs in).
ALTER TABLE users ADD COLUMN login TEXT;
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_login ON users (login);

-- Logged-in browsers: the SHA-256 of each login cookie's token.
CREATE TABLE logins (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX logins_user ON logins (user_id);
