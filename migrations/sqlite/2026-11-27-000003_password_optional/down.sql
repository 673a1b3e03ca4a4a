-- An account that never chose a password keeps a hash no password matches.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_rebuilt (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('alliance_admin', 'university_admin', 'base_coordinator', 'student')),
    university_id TEXT REFERENCES universities (id),
    base_id TEXT REFERENCES bases (id),
    student_id TEXT UNIQUE REFERENCES students (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    CHECK (role <> 'university_admin' OR university_id IS NOT NULL),
    CHECK (role <> 'base_coordinator' OR base_id IS NOT NULL),
    CHECK (role <> 'student' OR (student_id IS NOT NULL AND university_id IS NOT NULL))
);
INSERT INTO users_rebuilt (id, email, password_hash, role, university_id, base_id, student_id, created_at)
    SELECT id, email, COALESCE(password_hash, '!'), role, university_id, base_id, student_id, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_university_idx ON users (university_id);
CREATE INDEX users_base_idx ON users (base_id);
COMMIT;
PRAGMA foreign_keys = ON;
