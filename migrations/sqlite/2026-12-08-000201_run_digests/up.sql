-- A run's digests, made when it runs (see docs/matching.md, "Run bundles"): SHA-256 of the
-- canonical forms of its anonymised instance and of its result. Runs made before have none.
ALTER TABLE match_runs ADD COLUMN instance_sha256 TEXT;
ALTER TABLE match_runs ADD COLUMN result_sha256 TEXT;

-- Each cycle's key for students' pseudonyms in run bundles; it never leaves the server.
CREATE TABLE cycle_secrets (
    cycle_id TEXT PRIMARY KEY NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    pseudonym_key TEXT NOT NULL
);
