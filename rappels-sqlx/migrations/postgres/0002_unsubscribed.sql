-- Opt-outs recorded by rappels itself (unsubscribe links), kept apart from the platform's
-- `opt_out` so that the next import of the platform's data does not undo them.
ALTER TABLE students ADD COLUMN unsubscribed TEXT NOT NULL DEFAULT '';
