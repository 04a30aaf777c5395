-- The incident store's state, so that incidents survive a restart: every alert it holds
-- (labels, annotations, startsAt/endsAt, as received; the asset is resolved again from the
-- CMDB when loaded) and every incident's record (state, who acknowledged or resolved it,
-- timeline, escalations). body: JSON. updated_at: Unix milliseconds. The incidents
-- themselves are not stored: the correlation rebuilds them from the alerts, deterministically.
CREATE TABLE correlation_alerts (
    fingerprint TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE incident_records (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
