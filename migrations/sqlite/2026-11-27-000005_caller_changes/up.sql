-- A counter of the changes that can change who a token belongs to: any update or removal of
-- a user or of a token (revocation, expiry moved, role or scope changed, account removed,
-- directly or by a cascade). Instances that keep the callers behind tokens (see
-- src/db/changes.rs) read it to know when to forget them; other writes leave it alone, so
-- a burst of applications does not make every request look its caller up again. A new row
-- needs no count: nothing was kept for it. A migration that rebuilds `users` or
-- `api_tokens` must create these triggers again.
CREATE TABLE caller_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO caller_changes (id, version) VALUES (1, 0);

CREATE TRIGGER users_updated_change_callers AFTER UPDATE ON users
BEGIN
    UPDATE caller_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER users_deleted_change_callers AFTER DELETE ON users
BEGIN
    UPDATE caller_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER api_tokens_updated_change_callers AFTER UPDATE ON api_tokens
BEGIN
    UPDATE caller_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER api_tokens_deleted_change_callers AFTER DELETE ON api_tokens
BEGIN
    UPDATE caller_changes SET version = version + 1 WHERE id = 1;
END;
