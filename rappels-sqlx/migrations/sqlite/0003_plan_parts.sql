-- Planning in parts (Store::plan_parts) leaves out students whose inactivity or weekly
-- reminder for the slot date is already recorded, one indexed probe per candidate, and reads
-- the recorded keys of session candidates by session.
CREATE INDEX reminders_by_student_slot ON reminders (student_id, kind, slot_date);
CREATE INDEX reminders_by_session ON reminders (session_id) WHERE session_id IS NOT NULL;
