-- Roles and database. "app" owns the shop's tables and may read the query
-- statistics of the whole server; the checker connects as postgres.
ALTER USER postgres PASSWORD 'checker-only-7f3a';
CREATE ROLE app LOGIN PASSWORD 'app';
GRANT pg_read_all_stats TO app;
CREATE DATABASE shop OWNER postgres;
\connect shop
ALTER SCHEMA public OWNER TO app;
CREATE EXTENSION pg_stat_statements;
