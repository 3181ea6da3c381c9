-- Token buckets of the API request budgets (internal/ratelimit), one row per
-- (connection, service, user). A SQLite deployment is one instance, whose
-- limiter keeps its buckets in memory; the table exists so that both
-- databases have the same schema version and tables (migrate-store).
CREATE TABLE rate_buckets (
	connection TEXT NOT NULL,
	service    TEXT NOT NULL,
	user_name  TEXT NOT NULL,
	tokens     DOUBLE PRECISION NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (connection, service, user_name)
);
