-- Each application and placement carries its student's university and program, so that the
-- statistics count a cycle's rows by group without looking up every student. The three
-- columns together refer to the student's own, with updates cascading, so the copies
-- cannot differ from the student. SQLite adds referencing NOT NULL columns by rebuilding
-- the tables, with foreign keys off while it does.
PRAGMA foreign_keys = OFF;
BEGIN;
DROP INDEX students_university_program_idx;
CREATE UNIQUE INDEX students_university_program_idx ON students (id, university_id, program_id);

CREATE TABLE applications_rebuilt (
    id TEXT PRIMARY KEY,
    cycle_id TEXT NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    university_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    UNIQUE (cycle_id, student_id),
    FOREIGN KEY (student_id, university_id, program_id)
        REFERENCES students (id, university_id, program_id) ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO applications_rebuilt
    (id, cycle_id, student_id, submitted_at, updated_at, university_id, program_id)
    SELECT a.id, a.cycle_id, a.student_id, a.submitted_at, a.updated_at, s.university_id, s.program_id
    FROM applications a JOIN students s ON s.id = a.student_id;
DROP TABLE applications;
ALTER TABLE applications_rebuilt RENAME TO applications;
CREATE INDEX applications_student_idx ON applications (student_id);
CREATE INDEX applications_cycle_student_idx ON applications (cycle_id, student_id, id);
-- In id order within the cycle, so that a count joining the preferences reads their index
-- in one sweep rather than one per university and program.
CREATE INDEX applications_cycle_group_idx ON applications (cycle_id, id, university_id, program_id);

CREATE TABLE placements_rebuilt (
    id TEXT PRIMARY KEY,
    cycle_id TEXT NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    base_id TEXT NOT NULL REFERENCES bases (id),
    status TEXT NOT NULL CHECK (status IN ('offered', 'confirmed', 'declined', 'withdrawn', 'completed')),
    source TEXT NOT NULL CHECK (source IN ('match', 'second_round')),
    run_id TEXT REFERENCES match_runs (id),
    decline_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    university_id TEXT NOT NULL,
    program_id TEXT NOT NULL,
    FOREIGN KEY (student_id, university_id, program_id)
        REFERENCES students (id, university_id, program_id) ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO placements_rebuilt
    (id, cycle_id, student_id, base_id, status, source, run_id, decline_reason, created_at,
     updated_at, university_id, program_id)
    SELECT p.id, p.cycle_id, p.student_id, p.base_id, p.status, p.source, p.run_id,
        p.decline_reason, p.created_at, p.updated_at, s.university_id, s.program_id
    FROM placements p JOIN students s ON s.id = p.student_id;
DROP TABLE placements;
ALTER TABLE placements_rebuilt RENAME TO placements;
CREATE UNIQUE INDEX placements_one_live_per_cycle ON placements (cycle_id, student_id)
    WHERE status IN ('offered', 'confirmed', 'completed');
CREATE INDEX placements_cycle_base_idx ON placements (cycle_id, base_id, status);
CREATE INDEX placements_student_idx ON placements (student_id);
-- The statistics read placements through this index; the one they read before,
-- (cycle_id, student_id, base_id, status), is not made again.
CREATE INDEX placements_cycle_group_idx ON placements (cycle_id, university_id, program_id, base_id, status);
COMMIT;
PRAGMA foreign_keys = ON;
