-- rappels schema for SQLite. Instants are INTEGER microseconds since 1970-01-01 UTC and local
-- dates INTEGER days from 0001-01-01 (chrono's num_days_from_ce), so both backends compare
-- and index them the same way.

CREATE TABLE settings (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL -- Settings as JSON, in the scenario format
);

CREATE TABLE students (
    id                  INTEGER PRIMARY KEY,
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    email               TEXT NOT NULL,
    timezone            TEXT,             -- the student's own zone, NULL for the default
    zone                TEXT NOT NULL,    -- effective zone: timezone, else the settings' zone
    locale              TEXT NOT NULL,
    account_active      BOOLEAN NOT NULL,
    subscription_active BOOLEAN NOT NULL,
    created_at          INTEGER,
    last_activity_at    INTEGER,
    reference_day       INTEGER,          -- local date (in zone) of last activity, else creation
    opt_out             TEXT NOT NULL     -- comma-separated: session, inactivity, weekly, all
);
-- Inactivity and weekly candidates: per zone, by the day inactivity is counted from.
CREATE INDEX students_periodic ON students (zone, reference_day)
    WHERE account_active AND subscription_active;
CREATE INDEX students_by_zone ON students (zone);

CREATE TABLE parents (
    id         INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    email      TEXT NOT NULL
);

CREATE TABLE parent_children (
    parent_id  INTEGER NOT NULL REFERENCES parents (id),
    student_id INTEGER NOT NULL REFERENCES students (id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (parent_id, student_id)
);
CREATE INDEX parent_children_by_student ON parent_children (student_id);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    student_id       INTEGER NOT NULL REFERENCES students (id),
    subject          TEXT NOT NULL,
    objective        TEXT NOT NULL,
    starts_at        INTEGER NOT NULL,
    duration_minutes INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('scheduled', 'completed', 'cancelled'))
);
CREATE INDEX sessions_by_start ON sessions (starts_at);
CREATE INDEX sessions_by_student ON sessions (student_id, starts_at);

CREATE TABLE study_plans (
    id               INTEGER PRIMARY KEY,
    student_id       INTEGER NOT NULL REFERENCES students (id),
    weekday          TEXT NOT NULL,
    time             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    objective        TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL
);
CREATE INDEX study_plans_by_student ON study_plans (student_id);

-- Parent and student ids are not foreign keys: a request naming an unknown one is a
-- rejection the rules report, not an integrity error.
CREATE TABLE manual_requests (
    id           INTEGER PRIMARY KEY,
    parent_id    INTEGER NOT NULL,
    student_id   INTEGER NOT NULL,
    title        TEXT NOT NULL,
    message      TEXT NOT NULL,
    requested_at INTEGER NOT NULL
);
CREATE INDEX manual_requests_by_time ON manual_requests (requested_at);

-- The reminder log: one row per reminder key, ever. See ARCHITECTURE.md for the states and
-- the claim protocol.
CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    reminder_key    TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL
        CHECK (kind IN ('session_eve', 'session_day', 'inactivity', 'weekly', 'manual')),
    student_id      INTEGER,          -- NULL only for imported manual history
    session_id      INTEGER,
    manual_id       INTEGER,
    slot_date       INTEGER,          -- NULL for manual reminders
    subject         TEXT NOT NULL DEFAULT '',
    text_body       TEXT NOT NULL DEFAULT '',
    html_body       TEXT NOT NULL DEFAULT '',
    to_address      TEXT NOT NULL DEFAULT '',
    to_name         TEXT NOT NULL DEFAULT '',
    locale          TEXT NOT NULL DEFAULT 'fr',
    due_at          INTEGER,
    expires_at      INTEGER,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     INTEGER,
    message_id      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    imported        BOOLEAN NOT NULL DEFAULT FALSE -- a `sent` key of an imported scenario
);
CREATE INDEX reminders_pending ON reminders (status, next_attempt_at);
CREATE INDEX reminders_leases ON reminders (status, lease_until);
CREATE INDEX reminders_by_slot ON reminders (kind, slot_date);
CREATE INDEX reminders_by_manual ON reminders (manual_id) WHERE manual_id IS NOT NULL;
CREATE INDEX reminders_by_student ON reminders (student_id, due_at);
CREATE INDEX reminders_by_due ON reminders (due_at);
CREATE INDEX reminders_by_sent_at ON reminders (sent_at) WHERE status = 'sent';
