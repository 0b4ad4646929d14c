-- Roles and databases.
--   app       the accounts service (and the learner's psql): owns the tables,
--             so its migrations can change them.
--   deployer  the lab's deploy tool (the app service's supervisor): may only
--             drop and re-create the "accounts" database from the template.
--   postgres  the checker.
ALTER USER postgres PASSWORD 'checker-only-5b1e';
CREATE ROLE app LOGIN PASSWORD 'app';
CREATE ROLE deployer LOGIN CREATEDB PASSWORD 'deploy-only-c07a';
GRANT pg_signal_backend TO deployer;
CREATE DATABASE accounts_seed OWNER postgres;
REVOKE CONNECT ON DATABASE accounts_seed FROM PUBLIC;
\connect accounts_seed
ALTER SCHEMA public OWNER TO app;
