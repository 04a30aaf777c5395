-- Jobs shared by several gpufleet processes. A worker claims a queued job by setting its
-- lease (owner and expiry, Unix milliseconds) and renews it while the job runs; a job whose
-- lease expired is taken back by any worker. `exclusive_key` holds the target while a power,
-- boot or BIOS job is queued or running (NULL otherwise): the unique index makes "one such job
-- per node" hold across processes. `max_parallel`: a bulk batch's limit of running jobs.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN exclusive_key TEXT;
ALTER TABLE jobs ADD COLUMN max_parallel INTEGER;
CREATE UNIQUE INDEX jobs_exclusive_live ON jobs (exclusive_key);
CREATE INDEX jobs_lease ON jobs (state, lease_until);
