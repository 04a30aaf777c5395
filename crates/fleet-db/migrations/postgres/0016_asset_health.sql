-- Changes of the derived health of nodes (their GPUs and BMC readings) and switch ports (link
-- and error counters), one row per change, written in the same transaction as its
-- system.status_changed / network.status_changed outbox event. asset_id: the node or the
-- switch; part: the port name for a switch port, '' for the node itself. reasons: JSON array.
-- at: Unix milliseconds.
CREATE TABLE asset_health_history (
    id         BIGSERIAL PRIMARY KEY,
    asset_id   TEXT NOT NULL,
    part       TEXT NOT NULL DEFAULT '',
    old_state  TEXT NOT NULL,
    new_state  TEXT NOT NULL,
    reasons    TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX asset_health_history_asset ON asset_health_history (asset_id, at);
