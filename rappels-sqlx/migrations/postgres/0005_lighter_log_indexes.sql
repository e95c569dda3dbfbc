-- Every index of the reminder log is written for every reminder recorded: a Sunday digest to
-- a million students pays for each of them ~350,000 times. Two were not earning their cost.
--
-- reminders_by_slot (kind, slot_date, student_id) answers every lookup that
-- reminders_by_student_slot (student_id, kind, slot_date) answered: they all give the
-- three columns, or kind and slot_date first.
DROP INDEX reminders_by_student_slot;

-- Only the claim of reminders whose lease ended, and the next wake-up, read leases, and both
-- ask for status = 'sending': a partial index holds just the reminders in flight, and a
-- reminder recorded as pending, or one already sent, costs it nothing.
DROP INDEX reminders_leases;
CREATE INDEX reminders_leases ON reminders (lease_until) WHERE status = 'sending';
