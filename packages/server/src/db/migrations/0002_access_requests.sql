-- Access requests: resources, policies, petitions, their reviews, and the grants they produce.

CREATE TABLE resources (
  space_id     text NOT NULL REFERENCES spaces (id),
  kind         text NOT NULL,
  id           text NOT NULL,
  display_name text NOT NULL DEFAULT '',
  labels       jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, kind, id)
);
CREATE INDEX resources_by_labels ON resources USING gin (labels jsonb_path_ops);

-- Ordered per space (lowest priority number first); the first that matches decides.
CREATE TABLE policies (
  space_id   text NOT NULL REFERENCES spaces (id),
  id         text NOT NULL,
  name       text NOT NULL,
  priority   integer NOT NULL,
  match      jsonb NOT NULL,
  decision   jsonb NOT NULL,
  emergency  jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id),
  UNIQUE (space_id, name)
);

CREATE TABLE petitions (
  space_id         text NOT NULL REFERENCES spaces (id),
  id               text NOT NULL,
  -- The same petitioners asking for the same resources share a key: at most one open petition per key.
  request_key      text NOT NULL,
  state            text NOT NULL CHECK (state IN ('open', 'granted', 'denied', 'cancelled')),
  petitioners      jsonb NOT NULL,
  resources        jsonb NOT NULL,
  reason           text NOT NULL DEFAULT '',
  duration_seconds integer,
  starts_at        timestamptz,
  emergency        boolean NOT NULL DEFAULT false,
  extends_grant_id text,
  policy_id        text,
  -- The decision rule as it was when the petition was made: later policy edits do not change it.
  rule             jsonb NOT NULL,
  created_by       jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  decided_at       timestamptz,
  decided_by       jsonb,
  decision_comment text,
  PRIMARY KEY (space_id, id)
);
CREATE UNIQUE INDEX petitions_one_open_per_key ON petitions (space_id, request_key) WHERE state = 'open';
CREATE INDEX petitions_by_key ON petitions (space_id, request_key, created_at DESC);
CREATE INDEX petitions_by_state ON petitions (space_id, state, id);

CREATE TABLE petition_reviews (
  space_id         text NOT NULL,
  petition_id      text NOT NULL,
  reviewer_id      text NOT NULL,
  reviewer_email   text NOT NULL,
  decision         text NOT NULL CHECK (decision IN ('approve', 'deny')),
  duration_seconds integer,
  comment          text NOT NULL DEFAULT '',
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, petition_id, reviewer_id),
  FOREIGN KEY (space_id, petition_id) REFERENCES petitions (space_id, id)
);

CREATE TABLE grants (
  space_id            text NOT NULL REFERENCES spaces (id),
  id                  text NOT NULL,
  petition_id         text NOT NULL,
  petitioner_id       text NOT NULL,
  petitioner_email    text NOT NULL,
  resource_kind       text NOT NULL,
  resource_id         text NOT NULL,
  starts_at           timestamptz NOT NULL,
  expires_at          timestamptz NOT NULL,
  emergency           boolean NOT NULL DEFAULT false,
  revoked_at          timestamptz,
  revoked_by          jsonb,
  expiry_announced_at timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id),
  FOREIGN KEY (space_id, petition_id) REFERENCES petitions (space_id, id),
  CHECK (expires_at > starts_at)
);
-- "Does this person hold this resource now?" — the hot path of approval() and of the vault join.
CREATE INDEX grants_active_lookup ON grants (space_id, petitioner_email, resource_kind, resource_id, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX grants_by_resource ON grants (space_id, resource_kind, resource_id);
CREATE INDEX grants_unannounced_expiry ON grants (expires_at) WHERE expiry_announced_at IS NULL AND revoked_at IS NULL;
