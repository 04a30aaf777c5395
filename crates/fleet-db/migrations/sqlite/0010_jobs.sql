-- Out-of-band operations as jobs (issue 4). Times are Unix milliseconds.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    driver      TEXT,
    params      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    state       TEXT NOT NULL,
    step        TEXT,
    progress    INTEGER NOT NULL DEFAULT 0,
    result      TEXT,
    error       TEXT,
    batch_id    TEXT,
    deadline_ms INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX jobs_target_created ON jobs (target, created_at);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_batch ON jobs (batch_id);

CREATE TABLE job_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    at     INTEGER NOT NULL,
    line   TEXT NOT NULL
);
CREATE INDEX job_log_job ON job_log (job_id, id);
