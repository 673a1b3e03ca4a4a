-- A student imported without a password has none until it chooses one through its
-- invitation; signing in treats the missing hash as a wrong password.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
