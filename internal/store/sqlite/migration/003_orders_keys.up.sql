-- Web service access keys of the item availability service: only the
-- SHA-256 of a key is kept, so a leaked database leaks no usable key.
CREATE TABLE service_keys (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	user_name    TEXT NOT NULL,
	hash         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	created_at   TIMESTAMP NOT NULL,
	revoked_at   TIMESTAMP,
	last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX service_keys_hash ON service_keys (hash);
CREATE INDEX service_keys_user ON service_keys (user_name);

-- One row per CRM document (order or quote) coupler turns into an ERP
-- document. The row is written as "pending" before the ERP write, so that a
-- crash or a retry looks the ERP document up instead of creating a second one.
CREATE TABLE documents (
	kind        TEXT NOT NULL,
	crm_id      TEXT NOT NULL,
	crm_number  TEXT NOT NULL,
	crm_version TEXT NOT NULL,
	state       TEXT NOT NULL,
	erp_id      TEXT NOT NULL,
	erp_number  TEXT NOT NULL,
	erp_status  TEXT NOT NULL,
	revision    INTEGER NOT NULL,
	attempts    INTEGER NOT NULL,
	error       TEXT NOT NULL,
	lease_until TIMESTAMP,
	created_at  TIMESTAMP NOT NULL,
	updated_at  TIMESTAMP NOT NULL,
	PRIMARY KEY (kind, crm_id)
);
CREATE INDEX documents_state ON documents (kind, state);
