-- The data vault: model definitions (each model's records live in a real table of its own in the
-- `vault` schema), access policies, vault clients and the keys that sign their tokens.

CREATE SCHEMA IF NOT EXISTS vault;

CREATE TABLE vault_models (
  space_id    text NOT NULL REFERENCES spaces (id),
  name        text NOT NULL,
  primary_key text NOT NULL,
  fields      jsonb NOT NULL,
  -- vault.<table_name>: a generated, safe identifier, never derived from user text.
  table_name  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, name)
);

CREATE TABLE vault_access_policies (
  space_id   text NOT NULL REFERENCES spaces (id),
  id         text NOT NULL,
  name       text NOT NULL,
  rules      jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id),
  UNIQUE (space_id, name)
);

-- client_id is global: POST /oauth/token names no space.
CREATE TABLE vault_clients (
  space_id    text NOT NULL REFERENCES spaces (id),
  id          text NOT NULL,
  client_id   text NOT NULL UNIQUE,
  name        text NOT NULL,
  policy_id   text NOT NULL,
  secret_hash text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  PRIMARY KEY (space_id, id),
  FOREIGN KEY (space_id, policy_id) REFERENCES vault_access_policies (space_id, id)
);

-- Token signing keys. The newest is used to sign; retired ones stay published until every token
-- they signed has expired, so a rotation never breaks a token in flight.
CREATE TABLE vault_signing_keys (
  kid         text PRIMARY KEY,
  private_pem text NOT NULL,
  public_jwk  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);
