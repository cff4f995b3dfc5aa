-- The key hierarchy (docs/vault-encryption.md): a master key (KEK) held outside the database wraps
-- per-space data keys (DEKs) and per-field blind-index keys, which are stored here, wrapped, each
-- with a version. Unwrapped keys never reach the database.

-- The master key every wrapped key and sealed secret of this store is under. At most one current
-- row; a start with another key is refused (its id is compared, the key itself is never stored).
CREATE TABLE master_keys (
  key_id     text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
CREATE UNIQUE INDEX master_keys_one_current ON master_keys ((true)) WHERE retired_at IS NULL;

-- A space's data keys. The highest version is current; older ones stay until a re-encryption job
-- has moved every value off them, then are retired (and their wrapped bytes erased).
CREATE TABLE space_data_keys (
  space_id   text NOT NULL REFERENCES spaces (id),
  version    integer NOT NULL CHECK (version > 0),
  kek_id     text NOT NULL,
  wrapped    bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  PRIMARY KEY (space_id, version),
  CHECK ((retired_at IS NULL) = (wrapped IS NOT NULL))
);

-- A field's blind-index keys, versioned the same way: the current one and, during re-indexing,
-- the previous one (searched too until the job ends).
CREATE TABLE vault_index_keys (
  space_id   text NOT NULL REFERENCES spaces (id),
  model      text NOT NULL,
  field      text NOT NULL,
  version    integer NOT NULL CHECK (version > 0),
  kek_id     text NOT NULL,
  wrapped    bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  PRIMARY KEY (space_id, model, field, version),
  CHECK ((retired_at IS NULL) = (wrapped IS NOT NULL))
);

-- Background work in batches (re-encryption, re-indexing): any node claims a job with
-- FOR UPDATE SKIP LOCKED and holds it by a lease; a node that dies loses its lease and another
-- resumes from `cursor`. Each batch and its progress commit together.
CREATE TABLE vault_jobs (
  space_id     text NOT NULL REFERENCES spaces (id),
  id           text NOT NULL,
  kind         text NOT NULL,
  params       jsonb NOT NULL DEFAULT '{}'::jsonb,
  state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  done         bigint NOT NULL DEFAULT 0,
  total        bigint,
  cursor       text,
  error        text,
  attempts     integer NOT NULL DEFAULT 0,
  lease_owner  text,
  lease_until  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  PRIMARY KEY (space_id, id)
);
CREATE INDEX vault_jobs_claimable ON vault_jobs (created_at) WHERE state IN ('queued', 'running');
