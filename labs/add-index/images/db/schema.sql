-- Roles and database. "app" owns the shop's tables (its migrations create
-- indexes); the checker connects as postgres.
ALTER USER postgres PASSWORD 'checker-only-7f3a';
CREATE ROLE app LOGIN PASSWORD 'app';
CREATE DATABASE shop OWNER postgres;
\connect shop
ALTER SCHEMA public OWNER TO app;
