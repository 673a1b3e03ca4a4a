-- Who erased a student's personal data, when and why (never what): the student's row stays,
-- under a pseudonym.
CREATE TABLE student_erasures (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students (id),
    erased_by TEXT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX student_erasures_student ON student_erasures (student_id);
