-- Cohorts: a group of learners an instructor follows, and the labs it sees.
CREATE TABLE cohorts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);

-- The instructors of a cohort (who created it, and whom they added).
CREATE TABLE cohort_staff (
    cohort_id TEXT NOT NULL REFERENCES cohorts (id),
    user_id   TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (cohort_id, user_id)
);
CREATE INDEX cohort_staff_user ON cohort_staff (user_id);

-- The learners of a cohort.
CREATE TABLE cohort_members (
    cohort_id TEXT NOT NULL REFERENCES cohorts (id),
    user_id   TEXT NOT NULL REFERENCES users (id),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (cohort_id, user_id)
);
CREATE INDEX cohort_members_user ON cohort_members (user_id);

-- The labs a cohort's learners see.
CREATE TABLE cohort_labs (
    cohort_id TEXT NOT NULL REFERENCES cohorts (id),
    lab_id    TEXT NOT NULL,
    PRIMARY KEY (cohort_id, lab_id)
);

-- Invite codes: whoever has one may sign up into the cohort (as a learner,
-- or as an instructor when an admin made it so) until it expires, is used
-- up or is revoked.
CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    cohort_id  TEXT NOT NULL REFERENCES cohorts (id),
    role       TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at BIGINT
);
CREATE INDEX invites_cohort ON invites (cohort_id);
