-- The vault client an admin designates for the web console's vault explorer. The console finds
-- records through this client's access policy, with the signed-in person's own user token as
-- x-client-auth, so the browser never holds a vault client secret. One per space; deleting the
-- client ends the designation.
CREATE TABLE vault_console_clients (
  space_id      text PRIMARY KEY REFERENCES spaces (id),
  client_row_id text NOT NULL,
  designated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (space_id, client_row_id) REFERENCES vault_clients (space_id, id) ON DELETE CASCADE
);
