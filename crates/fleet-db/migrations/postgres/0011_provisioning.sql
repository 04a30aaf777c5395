-- Provisioning through Tinkerbell (issue 6). Times are Unix milliseconds.

-- Install plans: one immutable row per version; a new version is a new row.
CREATE TABLE install_plans (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    -- The profile whose nodes get this plan when a request names none.
    profile_id  TEXT REFERENCES profiles(id) ON DELETE SET NULL,
    spec        TEXT NOT NULL,
    comment     TEXT,
    actor       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX install_plans_profile ON install_plans (profile_id, created_at);

-- One row per provisioning attempt of a node; what a restart resumes from.
CREATE TABLE provisionings (
    id           TEXT PRIMARY KEY,
    node_id      TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    attempt      BIGINT NOT NULL,
    plan_id      TEXT NOT NULL,
    plan_name    TEXT NOT NULL,
    plan_version BIGINT NOT NULL,
    workflow     TEXT NOT NULL,
    power_via    TEXT NOT NULL,
    -- created, submitted, booted (live); succeeded, failed, cancelled (final)
    stage        TEXT NOT NULL,
    progress     TEXT,
    failure      TEXT,
    power_jobs   TEXT,
    timings      TEXT,
    batch_id     TEXT,
    actor        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    UNIQUE (node_id, attempt)
);
CREATE INDEX provisionings_stage ON provisionings (stage);
CREATE INDEX provisionings_batch ON provisionings (batch_id);
