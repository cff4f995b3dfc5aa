-- Rate-limit budgets every node shares (http/rate-limit-store.ts): one row per bucket, counted with
-- one atomic upsert per attempt, in the database's clock. The key is a hash (no client address is
-- stored as such); rows whose window ended are swept now and then.
CREATE TABLE rate_limit_counters (
  key text PRIMARY KEY,
  hits integer NOT NULL,
  window_ends_at timestamptz NOT NULL
);
CREATE INDEX rate_limit_counters_window_ends_at ON rate_limit_counters (window_ends_at);
