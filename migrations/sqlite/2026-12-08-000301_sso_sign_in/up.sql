-- Sign-in through a university's identity provider. Each attempt (from the redirect to the
-- provider to its return) is kept here, so that any instance can finish it: the browser's
-- cookie and the OpenID Connect state are kept as fingerprints, the nonce and the PKCE
-- verifier as they are (they are worthless once the attempt is used, and an attempt is
-- used once).
CREATE TABLE sso_attempts (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    browser_hash TEXT NOT NULL UNIQUE,
    state_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX sso_attempts_created_idx ON sso_attempts (created_at);

-- Every CAS ticket placemat was shown, by fingerprint: a ticket is validated once.
CREATE TABLE sso_tickets (
    ticket_hash TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
);

-- The provider a browser session was opened through, for its sign-out link.
ALTER TABLE web_sessions ADD COLUMN sso_provider TEXT;
