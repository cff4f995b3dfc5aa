-- Placeholder on branch wt-console only: the SSO branch owns migration 0008 (0008_sso.sql) and its
-- file replaces this one at merge (delete this file then). Migrations must be numbered without gaps.
SELECT 1;
