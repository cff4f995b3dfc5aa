-- OpenID Connect single sign-on: providers per space, linked identities, flows in flight, CLI codes.

-- One identity provider of a space. `id` is the slug in URLs (`/sso/okta/start`).
-- client_secret is stored as given (there is no server master key yet) and never answered.
CREATE TABLE sso_providers (
  space_id               text NOT NULL REFERENCES spaces (id),
  id                     text NOT NULL,
  display_name           text NOT NULL,
  issuer                 text NOT NULL,
  client_id              text NOT NULL,
  client_secret          text,
  scopes                 jsonb NOT NULL,
  enabled                boolean NOT NULL DEFAULT true,
  require_verified_email boolean NOT NULL DEFAULT true,
  link_existing_users    boolean NOT NULL DEFAULT false,
  groups_claim           text,
  role_claim             text,
  role_map               jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id)
);

-- Users are matched by (provider, sub), never by email alone. Deleting the user or the provider
-- deletes the link: a provider re-created later must be linked anew.
CREATE TABLE sso_identities (
  space_id      text NOT NULL,
  provider_id   text NOT NULL,
  subject       text NOT NULL,
  user_id       text NOT NULL,
  email         text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_sign_in  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, provider_id, subject),
  UNIQUE (space_id, provider_id, user_id),
  FOREIGN KEY (space_id, provider_id) REFERENCES sso_providers (space_id, id) ON DELETE CASCADE,
  FOREIGN KEY (space_id, user_id) REFERENCES users (space_id, id) ON DELETE CASCADE
);

-- A sign-in in flight, kept in the database so that any node can finish it. Keyed by the SHA-256 of
-- its `state`; used once (used_at), short-lived (expires_at). No foreign key to the provider: a
-- provider deleted mid-flow must be refused as such, not look like an unknown state.
CREATE TABLE sso_flows (
  state_hash     text PRIMARY KEY,
  space_id       text NOT NULL REFERENCES spaces (id),
  provider_id    text NOT NULL,
  nonce          text NOT NULL,
  code_verifier  text NOT NULL,
  redirect_uri   text NOT NULL,
  return_to      text NOT NULL,
  cli_redirect   text,
  cli_challenge  text,
  cli_state      text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz
);
CREATE INDEX sso_flows_by_expiry ON sso_flows (expires_at);

-- One-time codes handed to a CLI's loopback redirect, exchanged with the PKCE verifier for a token.
CREATE TABLE sso_cli_codes (
  code_hash     text PRIMARY KEY,
  space_id      text NOT NULL,
  user_id       text NOT NULL,
  provider_id   text NOT NULL,
  challenge     text NOT NULL,
  redirect_uri  text NOT NULL,
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz,
  FOREIGN KEY (space_id, user_id) REFERENCES users (space_id, id) ON DELETE CASCADE
);

-- Per-space sign-in settings owned by the SSO module: password sign-in can be turned off.
CREATE TABLE sso_settings (
  space_id          text PRIMARY KEY REFERENCES spaces (id),
  password_sign_in  boolean NOT NULL DEFAULT true,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
