-- The audit log as a verifiable log (issue 12): writers queue events without taking a per-space
-- lock; a sequencer gives them their gapless seq in batches and extends an RFC 6962 Merkle tree;
-- C2SP checkpoints sign the tree's root. Events of the old hash chain keep their prev_hash/hash
-- (still verifiable up to audit_heads.chain_end) and join the tree as its first leaves: the
-- sequencer computes their leaf hashes after this migration (tree_size < seq until it has).

ALTER TABLE audit_events
  ALTER COLUMN prev_hash DROP NOT NULL,
  ALTER COLUMN hash DROP NOT NULL,
  -- Hex SHA-256(0x00 ‖ JCS of {v:1,id,space,time,actor,event,resources,meta}): leaf seq - 1.
  ADD COLUMN leaf_hash text;

ALTER TABLE audit_heads
  -- Leaves in the tree (≤ seq: the migrated events are hashed into it after this migration).
  ADD COLUMN tree_size bigint NOT NULL DEFAULT 0,
  -- The tree's right edge: hex hashes of its perfect subtrees, largest first, concatenated.
  ADD COLUMN frontier text NOT NULL DEFAULT '',
  -- The last event of the old hash chain; events after it are not chained.
  ADD COLUMN chain_end bigint NOT NULL DEFAULT 0,
  -- The latest checkpoint's size and time: the sequencer's cadence (every N events or seconds).
  ADD COLUMN checkpoint_size bigint NOT NULL DEFAULT 0,
  ADD COLUMN checkpoint_time timestamptz;
UPDATE audit_heads SET chain_end = seq;

-- Events committed with their change and not yet sequenced. Inserting one takes no lock but the
-- foreign key's share lock on the space's head (which the sequencer's NO KEY UPDATE does not
-- conflict with). pos orders them for the sequencer; it is not the seq.
CREATE TABLE audit_pending (
  space_id  text NOT NULL REFERENCES audit_heads (space_id),
  pos       bigint GENERATED ALWAYS AS IDENTITY,
  id        text NOT NULL,
  time      timestamptz NOT NULL,
  actor     jsonb NOT NULL,
  event     text NOT NULL,
  resources jsonb NOT NULL,
  meta      jsonb NOT NULL,
  -- Null when the writer could not compute it (a vault find's event, built in SQL from its page).
  leaf_hash text,
  PRIMARY KEY (space_id, pos)
);

-- Hashes of the tree's perfect subtrees of height ≥ 1 (leaves are audit_events.leaf_hash): node
-- idx at level covers leaves [idx·2^level, (idx+1)·2^level). Proofs read O(log² n) of them.
CREATE TABLE audit_tree (
  space_id text NOT NULL,
  level    smallint NOT NULL,
  idx      bigint NOT NULL,
  hash     text NOT NULL,
  PRIMARY KEY (space_id, level, idx)
);

-- C2SP tlog-checkpoints (signed notes) of each space's tree. Copies: the ones that count are kept
-- by witnesses, outside the database's reach.
CREATE TABLE audit_log_checkpoints (
  space_id  text NOT NULL REFERENCES spaces (id),
  tree_size bigint NOT NULL,
  root_hash text NOT NULL,
  note      text NOT NULL,
  key_id    text NOT NULL,
  time      timestamptz NOT NULL,
  PRIMARY KEY (space_id, tree_size)
);
