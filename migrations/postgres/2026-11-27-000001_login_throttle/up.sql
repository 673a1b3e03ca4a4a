-- Failed sign-ins per account (`account:EMAIL`) and per client address (`address:IP`),
-- kept in the database so that every instance sees the same counts.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);
