-- Roles and database. "app" owns the shop's tables and is the role the
-- shop (and the learner's psql) connects as; the checker connects as
-- postgres.
ALTER USER postgres PASSWORD 'checker-only-5c1e';
CREATE ROLE app LOGIN PASSWORD 'app';
CREATE DATABASE shop OWNER postgres;
\connect shop
ALTER SCHEMA public OWNER TO app;
-- The learner reads pg_stat_statements as app and may reset its counters.
CREATE EXTENSION pg_stat_statements;
GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO app;
