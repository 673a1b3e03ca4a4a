-- The confirmation email copies the students' university's placement officers: found by role
-- and university without reading every student account of that university.
CREATE INDEX users_role_university_idx ON users (role, university_id);
