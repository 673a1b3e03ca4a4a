ALTER TABLE web_sessions DROP COLUMN sso_provider;
DROP TABLE sso_tickets;
DROP TABLE sso_attempts;
