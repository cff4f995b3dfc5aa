-- Identity: grants and petitions belong to a user id, not to an email string; users can be deactivated.

-- A deactivated user cannot sign in, their tokens stop working, and their access was ended when it happened.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- The Gatehouse user a grant belongs to. NULL only while the petitioner is known by email alone
-- (no user with that email yet); such a grant opens no vault rows until a user with that email is
-- created, which binds it. A grant of a deleted user keeps the old id (and was revoked), so a new
-- user with the same email never inherits it.
ALTER TABLE grants ADD COLUMN petitioner_user_id text;
UPDATE grants g SET petitioner_user_id = u.id FROM users u WHERE u.space_id = g.space_id AND u.email = g.petitioner_email;
CREATE INDEX grants_active_by_user ON grants (space_id, petitioner_user_id, resource_kind, resource_id, expires_at) WHERE revoked_at IS NULL;

-- Each petitioner in a petition carries `userId` (null while known by email alone).
UPDATE petitions p SET petitioners = (
  SELECT coalesce(jsonb_agg(x.petitioner || jsonb_build_object('userId', u.id) ORDER BY x.n), '[]'::jsonb)
  FROM jsonb_array_elements(p.petitioners) WITH ORDINALITY AS x(petitioner, n)
  LEFT JOIN users u ON u.space_id = p.space_id AND u.email = x.petitioner ->> 'email'
);
-- Open petitions of one user, found when that user is deleted or deactivated.
CREATE INDEX petitions_open_by_petitioner ON petitions USING gin (petitioners jsonb_path_ops) WHERE state = 'open';
