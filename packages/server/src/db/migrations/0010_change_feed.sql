-- The change feed's version table (db/change-feed.ts): one row per topic whose changes caches on
-- other nodes must see. A change bumps its topic's version in its own transaction; every node polls
-- this table, so a lost NOTIFY delays an invalidation by one poll interval and never skips it.
CREATE TABLE change_versions (
  topic text PRIMARY KEY,
  version bigint NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
