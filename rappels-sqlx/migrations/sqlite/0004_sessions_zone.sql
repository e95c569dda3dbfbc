-- Sessions carry their student's effective zone, so that the sessions of one zone starting
-- in a range are one range of the index sessions_by_zone: before, every session of the range
-- was read and its student looked up for the zone, once per zone, which at a quiet instant
-- of a school spread over several zones cost more than everything due. A writer gives the
-- right zone or none ('', the default): the import gives the zone of the students it writes,
-- and the triggers look it up for the others (a session added by the scheduler, one of a
-- student imported earlier, one moved to another student), and move a student's sessions
-- when the student's zone changes. Testing for '' rather than comparing with the student's
-- zone keeps the import from running a lookup per session.
ALTER TABLE sessions ADD COLUMN zone TEXT NOT NULL DEFAULT '';
UPDATE sessions SET zone = (SELECT st.zone FROM students st WHERE st.id = sessions.student_id);
CREATE INDEX sessions_by_zone ON sessions (zone, starts_at);

CREATE TRIGGER sessions_zone_on_insert AFTER INSERT ON sessions
WHEN NEW.zone = ''
BEGIN
    UPDATE sessions SET zone = (SELECT st.zone FROM students st WHERE st.id = NEW.student_id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER sessions_zone_on_update AFTER UPDATE OF student_id, zone ON sessions
WHEN NEW.zone = '' OR NEW.student_id IS NOT OLD.student_id
BEGIN
    UPDATE sessions SET zone = (SELECT st.zone FROM students st WHERE st.id = NEW.student_id)
    WHERE id = NEW.id;
END;

CREATE TRIGGER students_zone_to_sessions AFTER UPDATE OF zone ON students
WHEN OLD.zone IS NOT NEW.zone
BEGIN
    UPDATE sessions SET zone = NEW.zone WHERE student_id = NEW.id;
END;

-- The students whose reminder of a kind is recorded for a slot date, from the index alone:
-- the candidate queries leave them out (a repeated run reads next to nothing), and
-- recorded keys by slot start with the same columns.
DROP INDEX reminders_by_slot;
CREATE INDEX reminders_by_slot ON reminders (kind, slot_date, student_id);
