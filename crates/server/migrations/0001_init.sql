-- Casebook team server, schema 1. Every column is public metadata or ciphertext: the server
-- holds no key that opens a batch, an attachment chunk or an invitation's team keys.
CREATE TABLE teams (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    -- SHA-256 of the one-time token the first device registers with; NULL once used.
    token_sha256 text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE devices (
    team        text NOT NULL REFERENCES teams(id),
    device      text NOT NULL,
    signing_key text NOT NULL,
    recipient   text NOT NULL,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (team, device)
);
CREATE TABLE invites (
    team       text NOT NULL REFERENCES teams(id),
    invite     text NOT NULL,
    verifier   text NOT NULL,
    wrapped    bytea NOT NULL,
    created_by text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (team, invite)
);
-- Team keys after a revocation, each encrypted to one device's age recipient.
CREATE TABLE team_keys (
    team    text NOT NULL REFERENCES teams(id),
    device  text NOT NULL,
    epoch   integer NOT NULL,
    wrapped bytea NOT NULL,
    PRIMARY KEY (team, device, epoch)
);
CREATE TABLE batches (
    id          bigserial PRIMARY KEY,
    team        text NOT NULL REFERENCES teams(id),
    device      text NOT NULL,
    seq         bigint NOT NULL,
    prev        text NOT NULL,
    hash        text NOT NULL,
    epoch       integer NOT NULL,
    nonce       bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    signature   bytea NOT NULL,
    size        integer NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team, device, seq)
);
CREATE TABLE chunks (
    team        text NOT NULL REFERENCES teams(id),
    address     text NOT NULL,
    content     bytea NOT NULL,
    size        integer NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team, address)
);
