PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE applications_rebuilt (
    id TEXT PRIMARY KEY,
    cycle_id TEXT NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (cycle_id, student_id)
);
INSERT INTO applications_rebuilt (id, cycle_id, student_id, submitted_at, updated_at)
    SELECT id, cycle_id, student_id, submitted_at, updated_at FROM applications;
DROP TABLE applications;
ALTER TABLE applications_rebuilt RENAME TO applications;
CREATE INDEX applications_student_idx ON applications (student_id);
CREATE INDEX applications_cycle_student_idx ON applications (cycle_id, student_id, id);

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
    updated_at TEXT NOT NULL
);
INSERT INTO placements_rebuilt
    (id, cycle_id, student_id, base_id, status, source, run_id, decline_reason, created_at, updated_at)
    SELECT id, cycle_id, student_id, base_id, status, source, run_id, decline_reason, created_at, updated_at
    FROM placements;
DROP TABLE placements;
ALTER TABLE placements_rebuilt RENAME TO placements;
CREATE UNIQUE INDEX placements_one_live_per_cycle ON placements (cycle_id, student_id)
    WHERE status IN ('offered', 'confirmed', 'completed');
CREATE INDEX placements_cycle_base_idx ON placements (cycle_id, base_id);
CREATE INDEX placements_student_idx ON placements (student_id);
CREATE INDEX placements_cycle_student_base_status_idx ON placements (cycle_id, student_id, base_id, status);

DROP INDEX students_university_program_idx;
CREATE INDEX students_university_program_idx ON students (id, university_id, program_id);
COMMIT;
PRAGMA foreign_keys = ON;
