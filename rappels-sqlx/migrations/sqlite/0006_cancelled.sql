-- A reminder the data no longer wants when it is to be sent (the student opted out, the
-- session was cancelled or moved...) is recorded as 'cancelled', never sent.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt the way its
-- documentation prescribes (create, copy, drop, rename, index again), inside the
-- migration's transaction, keeping every id and the AUTOINCREMENT counter.
CREATE TABLE reminders_new (
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
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired', 'cancelled')),
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

INSERT INTO reminders_new (id, reminder_key, kind, student_id, session_id, manual_id,
    slot_date, subject, text_body, html_body, to_address, to_name, locale, due_at,
    expires_at, status, attempts, next_attempt_at, last_error, lease_owner, lease_until,
    message_id, created_at, sent_at, imported)
SELECT id, reminder_key, kind, student_id, session_id, manual_id,
    slot_date, subject, text_body, html_body, to_address, to_name, locale, due_at,
    expires_at, status, attempts, next_attempt_at, last_error, lease_owner, lease_until,
    message_id, created_at, sent_at, imported
FROM reminders;

-- The counter never goes back, even past ids whose rows are gone.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'reminders_new', seq FROM sqlite_sequence
WHERE name = 'reminders' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'reminders_new');
UPDATE sqlite_sequence
SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('reminders', 'reminders_new'))
WHERE name = 'reminders_new';

DROP TABLE reminders;
ALTER TABLE reminders_new RENAME TO reminders;

CREATE INDEX reminders_pending ON reminders (status, next_attempt_at);
CREATE INDEX reminders_leases ON reminders (lease_until) WHERE status = 'sending';
CREATE INDEX reminders_by_slot ON reminders (kind, slot_date, student_id);
CREATE INDEX reminders_by_manual ON reminders (manual_id) WHERE manual_id IS NOT NULL;
CREATE INDEX reminders_by_student ON reminders (student_id, due_at);
CREATE INDEX reminders_by_due ON reminders (due_at);
CREATE INDEX reminders_by_sent_at ON reminders (sent_at) WHERE status = 'sent';
CREATE INDEX reminders_by_session ON reminders (session_id) WHERE session_id IS NOT NULL;
