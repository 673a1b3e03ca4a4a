-- The statistics count a cycle's applications by university and program: with an index in
-- that order, SQLite counts as it reads instead of sorting every application first.
-- (PostgreSQL groups by hashing, which needs no order.)
CREATE INDEX applications_cycle_university_program_idx
    ON applications (cycle_id, university_id, program_id);
