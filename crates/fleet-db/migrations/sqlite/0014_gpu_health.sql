-- Changes of a GPU's derived health (from telemetry), one row per change, written in the same
-- transaction as its gpu.status_changed outbox event. Keyed by the GPU's serial (or
-- 'asset:<id>' for a GPU without one) so that the history follows a GPU moved to another node;
-- gpu_id and node_id say where it was at the time. reasons: JSON array. at: Unix milliseconds.
CREATE TABLE gpu_health_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    gpu_key    TEXT NOT NULL,
    gpu_id     TEXT NOT NULL,
    node_id    TEXT,
    old_state  TEXT NOT NULL,
    new_state  TEXT NOT NULL,
    reasons    TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX gpu_health_history_key ON gpu_health_history (gpu_key, at);
