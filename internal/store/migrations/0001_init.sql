-- Users. Until logins exist (loopback use) there is one local user.
CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A learner's session on one lab: one sandbox at a time.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    lab_id     TEXT NOT NULL,
    state      TEXT NOT NULL,
    error      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at   BIGINT
);
CREATE INDEX sessions_user_lab ON sessions (user_id, lab_id);

-- How many hints of a task a session has revealed.
CREATE TABLE hints (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    task_id    TEXT NOT NULL,
    revealed   INTEGER NOT NULL,
    PRIMARY KEY (session_id, task_id)
);

-- Every check run, with its result as JSON.
CREATE TABLE check_runs (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    lab_id      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    outcome     TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX check_runs_session ON check_runs (session_id, started_at);
CREATE INDEX check_runs_user_lab ON check_runs (user_id, lab_id, outcome);

-- Every event a check run streamed, in order.
CREATE TABLE check_events (
    run_id TEXT NOT NULL REFERENCES check_runs (id),
    seq    INTEGER NOT NULL,
    event  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
