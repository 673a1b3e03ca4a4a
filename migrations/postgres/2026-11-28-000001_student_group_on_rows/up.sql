-- Each application and placement carries its student's university and program, so that the
-- statistics count a cycle's rows by group without looking up every student. The three
-- columns together refer to the student's own, with updates cascading, so the copies
-- cannot differ from the student.
DROP INDEX students_university_program_idx;
CREATE UNIQUE INDEX students_university_program_idx ON students (id, university_id, program_id);

ALTER TABLE applications ADD COLUMN university_id UUID, ADD COLUMN program_id UUID;
UPDATE applications SET university_id = students.university_id, program_id = students.program_id
    FROM students WHERE students.id = applications.student_id;
ALTER TABLE applications ALTER COLUMN university_id SET NOT NULL,
    ALTER COLUMN program_id SET NOT NULL,
    ADD CONSTRAINT applications_student_group_fkey FOREIGN KEY (student_id, university_id, program_id)
        REFERENCES students (id, university_id, program_id) ON DELETE CASCADE ON UPDATE CASCADE;
-- In id order within the cycle, so that a count joining the preferences reads their index
-- in one sweep rather than one per university and program.
CREATE INDEX applications_cycle_group_idx ON applications (cycle_id, id, university_id, program_id);

ALTER TABLE placements ADD COLUMN university_id UUID, ADD COLUMN program_id UUID;
UPDATE placements SET university_id = students.university_id, program_id = students.program_id
    FROM students WHERE students.id = placements.student_id;
ALTER TABLE placements ALTER COLUMN university_id SET NOT NULL,
    ALTER COLUMN program_id SET NOT NULL,
    ADD CONSTRAINT placements_student_group_fkey FOREIGN KEY (student_id, university_id, program_id)
        REFERENCES students (id, university_id, program_id) ON DELETE CASCADE ON UPDATE CASCADE;
DROP INDEX placements_cycle_base_idx;
CREATE INDEX placements_cycle_base_idx ON placements (cycle_id, base_id, status);
CREATE INDEX placements_cycle_group_idx ON placements (cycle_id, university_id, program_id, base_id, status);
-- The statistics read placements through the index above; the one they read before goes.
DROP INDEX placements_cycle_student_base_status_idx;
