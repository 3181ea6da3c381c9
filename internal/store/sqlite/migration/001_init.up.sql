-- Settings, secrets and the two JSON documents (connections, mappings) whose
-- fields their owning packages extend without a migration.
CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TIMESTAMP NOT NULL
);

CREATE TABLE secrets (
	owner      TEXT NOT NULL,
	name       TEXT NOT NULL,
	value      BLOB NOT NULL,
	encrypted  BOOLEAN NOT NULL,
	key_id     TEXT NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (owner, name)
);

CREATE TABLE connections (
	name       TEXT PRIMARY KEY,
	doc        TEXT NOT NULL CHECK (json_valid(doc)),
	updated_at TIMESTAMP NOT NULL
);

CREATE TABLE mappings (
	name       TEXT PRIMARY KEY,
	doc        TEXT NOT NULL CHECK (json_valid(doc)),
	updated_at TIMESTAMP NOT NULL
);

-- One row per coupled pair; a record is coupled at most once per mapping on
-- each side.
CREATE TABLE couplings (
	id              INTEGER PRIMARY KEY,
	mapping         TEXT NOT NULL,
	erp_id          TEXT NOT NULL,
	crm_id          TEXT NOT NULL,
	erp_modified_at TIMESTAMP,
	crm_modified_at TIMESTAMP,
	last_result     TEXT NOT NULL,
	last_job_id     INTEGER NOT NULL,
	last_error      TEXT NOT NULL,
	fail_count      INTEGER NOT NULL,
	skipped         BOOLEAN NOT NULL,
	snapshot        TEXT NOT NULL,
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX couplings_erp ON couplings (mapping, erp_id);
CREATE UNIQUE INDEX couplings_crm ON couplings (mapping, crm_id);
CREATE INDEX couplings_page ON couplings (mapping, id);

CREATE TABLE sync_jobs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	mapping     TEXT NOT NULL,
	job_trigger TEXT NOT NULL,
	status      TEXT NOT NULL,
	started_at  TIMESTAMP NOT NULL,
	finished_at TIMESTAMP,
	inserted    INTEGER NOT NULL,
	modified    INTEGER NOT NULL,
	deleted     INTEGER NOT NULL,
	unchanged   INTEGER NOT NULL,
	skipped     INTEGER NOT NULL,
	failed      INTEGER NOT NULL,
	coupled     INTEGER NOT NULL,
	uncoupled   INTEGER NOT NULL,
	message     TEXT NOT NULL
);
CREATE INDEX sync_jobs_mapping ON sync_jobs (mapping, id);

CREATE TABLE sync_errors (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id      INTEGER REFERENCES sync_jobs (id) ON DELETE CASCADE,
	mapping     TEXT NOT NULL,
	direction   TEXT NOT NULL,
	erp_id      TEXT NOT NULL,
	crm_id      TEXT NOT NULL,
	field       TEXT NOT NULL,
	code        TEXT NOT NULL,
	message     TEXT NOT NULL,
	payload     TEXT NOT NULL,
	created_at  TIMESTAMP NOT NULL,
	resolved_at TIMESTAMP
);
CREATE INDEX sync_errors_mapping ON sync_errors (mapping, id);
CREATE INDEX sync_errors_job ON sync_errors (job_id);
CREATE INDEX sync_errors_open_erp ON sync_errors (mapping, erp_id) WHERE resolved_at IS NULL;
CREATE INDEX sync_errors_open_crm ON sync_errors (mapping, crm_id) WHERE resolved_at IS NULL;

CREATE TABLE cursors (
	mapping    TEXT NOT NULL,
	side       TEXT NOT NULL CHECK (side IN ('erp', 'crm')),
	value      TEXT NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (mapping, side)
);

CREATE TABLE intents (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	mapping    TEXT NOT NULL,
	direction  TEXT NOT NULL,
	source_id  TEXT NOT NULL,
	target_id  TEXT NOT NULL,
	op         TEXT NOT NULL,
	payload    TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX intents_mapping ON intents (mapping, id);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	email         TEXT NOT NULL,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	crm_user_id   TEXT NOT NULL,
	disabled      BOOLEAN NOT NULL,
	created_at    TIMESTAMP NOT NULL,
	updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
