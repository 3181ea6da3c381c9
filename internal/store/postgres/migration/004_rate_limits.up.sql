-- Token buckets of the API request budgets (internal/ratelimit), one row per
-- (connection, service, user): instances sharing this database draw from the
-- same bucket, so that together they stay under the service's per-user
-- limit. tokens may be negative: each request reserves its turn and waits
-- until the bucket would have held its token. UNLOGGED: the state is
-- transient (a crash only refills the buckets) and each request updates the
-- row, which must not wait for a WAL flush.
CREATE UNLOGGED TABLE rate_buckets (
	connection TEXT NOT NULL,
	service    TEXT NOT NULL,
	user_name  TEXT NOT NULL,
	tokens     DOUBLE PRECISION NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (connection, service, user_name)
);
