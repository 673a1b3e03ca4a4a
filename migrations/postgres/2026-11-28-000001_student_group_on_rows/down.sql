CREATE INDEX placements_cycle_student_base_status_idx ON placements (cycle_id, student_id, base_id, status);
DROP INDEX placements_cycle_group_idx;
DROP INDEX placements_cycle_base_idx;
CREATE INDEX placements_cycle_base_idx ON placements (cycle_id, base_id);
ALTER TABLE placements DROP COLUMN university_id, DROP COLUMN program_id;
DROP INDEX applications_cycle_group_idx;
ALTER TABLE applications DROP COLUMN university_id, DROP COLUMN program_id;
DROP INDEX students_university_program_idx;
CREATE INDEX students_university_program_idx ON students (id, university_id, program_id);
