-- Broker credentials: one Mosquitto password hash per device, and per service account.
-- Only the hash is kept (Mosquitto's own password_file format, PBKDF2-SHA512); the plaintext
-- is shown once when issued. `firewatch broker sync` writes these to the broker's files.

CREATE TABLE device_credentials (
    device_id      text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    password_hash  text NOT NULL
                   CHECK (password_hash ~ '^\$7\$[0-9]+\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$'),
    created_at     timestamptz NOT NULL DEFAULT now(),   -- first issued
    rotated_at     timestamptz NOT NULL DEFAULT now()    -- last issued
);

-- Ingest and the API log in as these. Their names contain a '.', which device ids cannot,
-- so a device can never take a service account's name.
CREATE TABLE broker_service_accounts (
    username       text PRIMARY KEY CHECK (username ~ '^svc\.[a-z]+$'),
    password_hash  text NOT NULL
                   CHECK (password_hash ~ '^\$7\$[0-9]+\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    rotated_at     timestamptz NOT NULL DEFAULT now()
);
