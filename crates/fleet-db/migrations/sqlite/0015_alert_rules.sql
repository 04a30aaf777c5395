-- Alert rules: one immutable row per version of a rule; a change or a deletion is a new row.
-- Times are Unix milliseconds.
CREATE TABLE alert_rules (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    -- The rule as a Prometheus rule file writes it (JSON: expr, for, labels, annotations, group).
    spec        TEXT NOT NULL,
    -- 1: evaluated; 0: kept but not evaluated (a built-in rule switched off).
    enabled     INTEGER NOT NULL,
    -- 1: this version deletes the rule (its spec is the last one).
    deleted     INTEGER NOT NULL,
    comment     TEXT,
    actor       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (name, version)
);
