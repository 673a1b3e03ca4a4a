-- Who erased a student's personal data, when and why (never what): the student's row stays,
-- under a pseudonym.
CREATE TABLE student_erasures (
    id UUID PRIMARY KEY NOT NULL,
    student_id UUID NOT NULL REFERENCES students (id),
    erased_by UUID NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX student_erasures_student ON student_erasures (student_id);
