-- Foundation: spaces, their members, tokens and the audit chain.
-- Every table's primary key starts with space_id, and no query crosses spaces.

-- A space's id is the slug users type in URLs (`default`); it never changes.
CREATE TABLE spaces (
  id           text PRIMARY KEY,
  display_name text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  space_id      text NOT NULL REFERENCES spaces (id),
  id            text NOT NULL,
  email         text NOT NULL,
  name          text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'reviewer', 'member')),
  password_hash text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id),
  UNIQUE (space_id, email)
);

CREATE TABLE groups (
  space_id    text NOT NULL REFERENCES spaces (id),
  id          text NOT NULL,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id),
  UNIQUE (space_id, name)
);

CREATE TABLE group_members (
  space_id text NOT NULL,
  group_id text NOT NULL,
  user_id  text NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, group_id, user_id),
  FOREIGN KEY (space_id, group_id) REFERENCES groups (space_id, id) ON DELETE CASCADE,
  FOREIGN KEY (space_id, user_id) REFERENCES users (space_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_by_user ON group_members (space_id, user_id);

CREATE TABLE service_accounts (
  space_id    text NOT NULL REFERENCES spaces (id),
  id          text NOT NULL,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  role        text NOT NULL CHECK (role IN ('admin', 'reviewer', 'member')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id),
  UNIQUE (space_id, name)
);

-- Only the SHA-256 of a token's secret is stored; the secret itself is shown once.
CREATE TABLE tokens (
  space_id           text NOT NULL REFERENCES spaces (id),
  id                 text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('user', 'service_account')),
  user_id            text,
  service_account_id text,
  name               text NOT NULL,
  prefix             text NOT NULL,
  secret_hash        text NOT NULL UNIQUE,
  scopes             jsonb NOT NULL,
  created_by         jsonb NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz,
  revoked_at         timestamptz,
  PRIMARY KEY (space_id, id),
  FOREIGN KEY (space_id, user_id) REFERENCES users (space_id, id) ON DELETE CASCADE,
  FOREIGN KEY (space_id, service_account_id) REFERENCES service_accounts (space_id, id) ON DELETE CASCADE,
  CHECK ((kind = 'user') = (user_id IS NOT NULL) AND (kind = 'service_account') = (service_account_id IS NOT NULL))
);

-- The head of each space's chain. Appends lock this row, which serialises them per space and
-- hands over the previous hash and the next sequence number in the same step.
CREATE TABLE audit_heads (
  space_id text PRIMARY KEY REFERENCES spaces (id),
  seq      bigint NOT NULL,
  hash     text NOT NULL
);

CREATE TABLE audit_events (
  space_id  text NOT NULL REFERENCES spaces (id),
  seq       bigint NOT NULL,
  id        text NOT NULL,
  time      timestamptz NOT NULL,
  actor     jsonb NOT NULL,
  event     text NOT NULL,
  resources jsonb NOT NULL,
  meta      jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash      text NOT NULL,
  PRIMARY KEY (space_id, seq)
);
CREATE INDEX audit_events_by_time ON audit_events (space_id, time);
CREATE INDEX audit_events_by_event ON audit_events (space_id, event, seq);
CREATE INDEX audit_events_by_actor ON audit_events (space_id, (actor ->> 'id'), seq);
CREATE INDEX audit_events_by_resource ON audit_events USING gin (resources jsonb_path_ops);

-- Signed chain heads, kept for convenience; their value is that copies live outside the database.
CREATE TABLE audit_checkpoints (
  space_id  text NOT NULL REFERENCES spaces (id),
  seq       bigint NOT NULL,
  hash      text NOT NULL,
  time      timestamptz NOT NULL,
  key_id    text NOT NULL,
  signature text NOT NULL,
  PRIMARY KEY (space_id, seq, time)
);
