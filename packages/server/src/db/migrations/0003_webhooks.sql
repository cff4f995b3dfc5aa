-- Webhooks: endpoints per space, an outbox of messages written in the transaction of the change
-- they announce, one delivery per (message, endpoint), and every attempt at sending it.

-- The signing secret is kept in plain text because HMAC signing needs it; it is returned only when
-- created or rotated. During a rotation's overlap the previous secret signs too.
CREATE TABLE webhook_endpoints (
  space_id                   text NOT NULL REFERENCES spaces (id),
  id                         text NOT NULL,
  url                        text NOT NULL,
  description                text NOT NULL DEFAULT '',
  -- Event types to send; [] or ["*"] means all.
  events                     jsonb NOT NULL DEFAULT '[]'::jsonb,
  enabled                    boolean NOT NULL DEFAULT true,
  disabled_reason            text,
  secret                     text NOT NULL,
  previous_secret            text,
  previous_secret_expires_at timestamptz,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, id)
);

-- The exact bytes sent (text, not jsonb, so every retry carries an identical body).
CREATE TABLE webhook_messages (
  space_id   text NOT NULL REFERENCES spaces (id),
  id         text NOT NULL,
  type       text NOT NULL,
  payload    text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (space_id, id)
);

CREATE TABLE webhook_deliveries (
  space_id        text NOT NULL,
  id              text NOT NULL,
  -- Orders a delivery log newest first without relying on random ids or equal timestamps.
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  endpoint_id     text NOT NULL,
  message_id      text NOT NULL,
  state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
  -- Every attempt ever made (numbers the attempt log); round_attempts restarts on a redelivery
  -- and is what the retry schedule counts.
  attempts        integer NOT NULL DEFAULT 0,
  round_attempts  integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  -- A worker's claim: another worker skips the row until the lease runs out (a worker that died
  -- mid-send leaves it to be retried then).
  locked_until    timestamptz,
  lease_id        text,
  last_attempt_at timestamptz,
  last_status     integer,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (space_id, id),
  UNIQUE (space_id, endpoint_id, message_id),
  FOREIGN KEY (space_id, endpoint_id) REFERENCES webhook_endpoints (space_id, id) ON DELETE CASCADE,
  FOREIGN KEY (space_id, message_id) REFERENCES webhook_messages (space_id, id) ON DELETE CASCADE,
  CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL))
);
-- What the worker polls: due deliveries across all spaces.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (space_id, endpoint_id, seq);

CREATE TABLE webhook_attempts (
  space_id        text NOT NULL,
  delivery_id     text NOT NULL,
  attempt         integer NOT NULL,
  attempted_at    timestamptz NOT NULL,
  status_code     integer,
  error           text,
  duration_ms     integer NOT NULL,
  next_attempt_at timestamptz,
  PRIMARY KEY (space_id, delivery_id, attempt),
  FOREIGN KEY (space_id, delivery_id) REFERENCES webhook_deliveries (space_id, id) ON DELETE CASCADE
);
