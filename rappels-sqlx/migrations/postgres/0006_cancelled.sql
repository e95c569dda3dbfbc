-- A reminder the data no longer wants when it is to be sent (the student opted out, the
-- session was cancelled or moved...) is recorded as 'cancelled', never sent.
ALTER TABLE reminders DROP CONSTRAINT reminders_status_check;
ALTER TABLE reminders ADD CONSTRAINT reminders_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired', 'cancelled'));
