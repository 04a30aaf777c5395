-- Event query API: filter by correlation id, type and time.
ALTER TABLE outbox ADD COLUMN correlation_id TEXT;
UPDATE outbox SET correlation_id = json_extract(payload, '$.correlationid')
    WHERE payload LIKE '%"correlationid"%';
CREATE INDEX outbox_correlation ON outbox (correlation_id, seq);
CREATE INDEX outbox_type ON outbox (type, seq);
CREATE INDEX outbox_created ON outbox (created_at, seq);
