-- Placeholder on branch wt-sso only: the audit-log branch owns migration 0007 and its file replaces
-- this one at merge (delete this file then). Migrations must be numbered without gaps.
SELECT 1;
