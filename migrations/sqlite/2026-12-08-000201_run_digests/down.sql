DROP TABLE cycle_secrets;
ALTER TABLE match_runs DROP COLUMN result_sha256;
ALTER TABLE match_runs DROP COLUMN instance_sha256;
