-- Sessions carry their student's effective zone, so that the sessions of one zone starting
-- in a range are one range of the index sessions_by_zone: before, every session of the range
-- was read and its student looked up for the zone, once per zone, which at a quiet instant
-- of a school spread over several zones cost more than everything due. The triggers keep
-- it: a session takes its student's zone when written, and a student's sessions move when
-- the student's zone changes.
ALTER TABLE sessions ADD COLUMN zone TEXT NOT NULL DEFAULT '';
UPDATE sessions SET zone = st.zone FROM students st WHERE st.id = sessions.student_id;
CREATE INDEX sessions_by_zone ON sessions (zone, starts_at);

CREATE FUNCTION sessions_take_student_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.zone := (SELECT st.zone FROM students st WHERE st.id = NEW.student_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER sessions_zone BEFORE INSERT OR UPDATE OF student_id, zone ON sessions
FOR EACH ROW EXECUTE FUNCTION sessions_take_student_zone();

CREATE FUNCTION students_zone_to_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET zone = NEW.zone WHERE student_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER students_zone AFTER UPDATE OF zone ON students
FOR EACH ROW WHEN (OLD.zone IS DISTINCT FROM NEW.zone)
EXECUTE FUNCTION students_zone_to_sessions();

-- The students whose reminder of a kind is recorded for a slot date, from the index alone
-- (once vacuum has marked the pages visible): the candidate queries leave them out by a
-- hash anti-join over these entries (a repeated run reads next to nothing), and recorded
-- keys by slot start with the same columns.
DROP INDEX reminders_by_slot;
CREATE INDEX reminders_by_slot ON reminders (kind, slot_date, student_id);
