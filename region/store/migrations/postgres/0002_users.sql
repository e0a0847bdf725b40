-- Accounts of the region's dashboard. The password hash is a PHC string
-- made by the dashboard (argon2id); the store never sees a password.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    lang          TEXT NOT NULL DEFAULT 'ru',
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_ns    BIGINT NOT NULL,
    updated_ns    BIGINT NOT NULL
);
