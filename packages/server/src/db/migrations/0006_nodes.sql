-- Several nodes on one database: one active vault signing key, and the audit checkpoint keys.

-- A race in an earlier version could leave two unretired vault signing keys: keep the newest.
UPDATE vault_signing_keys SET retired_at = now()
WHERE retired_at IS NULL
  AND kid <> (SELECT kid FROM vault_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1);
CREATE UNIQUE INDEX vault_signing_keys_one_active ON vault_signing_keys ((true)) WHERE retired_at IS NULL;

-- The public keys that have signed audit checkpoints (audit_checkpoints.key_id names one). The one
-- unretired row is the key every node must sign with; retired ones stay so that their checkpoints
-- still verify. Rows for keys used before this table existed are added by the server whose key
-- file holds them, at its next start.
CREATE TABLE audit_signing_keys (
  key_id         text PRIMARY KEY,
  algorithm      text NOT NULL,
  public_key_pem text NOT NULL,
  added_at       timestamptz NOT NULL DEFAULT now(),
  retired_at     timestamptz
);
CREATE UNIQUE INDEX audit_signing_keys_one_current ON audit_signing_keys ((true)) WHERE retired_at IS NULL;
