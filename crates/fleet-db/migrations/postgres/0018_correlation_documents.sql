-- Named documents of the incident store that are neither alerts nor incident records: the
-- operators' merges and splits (`overrides`), which the correlation applies before it
-- rebuilds the incidents from the alerts, and the remediation switches (`remediation`).
-- body: JSON. updated_at: Unix milliseconds.
CREATE TABLE correlation_documents (
    name        TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
