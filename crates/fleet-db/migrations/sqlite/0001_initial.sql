-- gpufleet initial schema (SQLite). Times are Unix milliseconds (INTEGER);
-- JSON documents are TEXT so that the SQLite and PostgreSQL adapters share
-- one repository implementation.

CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    spec        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE assets (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    parent_id        TEXT REFERENCES assets(id) ON DELETE RESTRICT,
    rack_id          TEXT,
    model            TEXT,
    serial           TEXT,
    address          TEXT,
    labels           TEXT NOT NULL,
    config           TEXT NOT NULL,
    version          INTEGER NOT NULL,
    state            TEXT,
    state_entered_at INTEGER,
    profile_id       TEXT REFERENCES profiles(id) ON DELETE RESTRICT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (kind, name)
);
CREATE INDEX assets_kind_id ON assets (kind, id);
CREATE INDEX assets_kind_state ON assets (kind, state, id);
CREATE INDEX assets_kind_rack ON assets (kind, rack_id, id);
CREATE INDEX assets_kind_model ON assets (kind, model, id);
CREATE INDEX assets_parent ON assets (parent_id, kind, id);
CREATE INDEX assets_serial ON assets (serial);
CREATE INDEX assets_address ON assets (address);
CREATE INDEX assets_profile ON assets (profile_id);

CREATE TABLE asset_labels (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (asset_id, key)
);
CREATE INDEX asset_labels_kv ON asset_labels (key, value, asset_id);

CREATE TABLE relations (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    from_id    TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    to_id      TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    attrs      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, from_id, to_id)
);
CREATE INDEX relations_from ON relations (from_id, kind);
CREATE INDEX relations_to ON relations (to_id, kind);

CREATE TABLE config_versions (
    asset_id   TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    config     TEXT NOT NULL,
    diff       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (asset_id, version)
);

CREATE TABLE lifecycle_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id    TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT,
    request_id TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX lifecycle_history_node ON lifecycle_history (node_id, id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    name       TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE secrets (
    owner_id    TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    nonce       TEXT NOT NULL,
    ciphertext  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (owner_id, name)
);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    target     TEXT,
    before_doc TEXT,
    after_doc  TEXT,
    source     TEXT,
    request_id TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_target ON audit_log (target, seq);
CREATE INDEX audit_actor ON audit_log (actor, seq);
CREATE INDEX audit_at ON audit_log (at);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER
);
CREATE INDEX outbox_pending ON outbox (published_at, seq);
CREATE INDEX outbox_subject ON outbox (subject, seq);
