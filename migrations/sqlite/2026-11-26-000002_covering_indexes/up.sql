-- Covering indexes for the statistics and the match run, which read whole cycles: the
-- grouped counts are answered from the indexes without visiting the tables.
CREATE INDEX applications_cycle_student_idx ON applications (cycle_id, student_id, id);
CREATE INDEX students_university_program_idx ON students (id, university_id, program_id);
CREATE INDEX bases_host_idx ON bases (id, host_university_id);
CREATE INDEX placements_cycle_student_base_status_idx ON placements (cycle_id, student_id, base_id, status);
