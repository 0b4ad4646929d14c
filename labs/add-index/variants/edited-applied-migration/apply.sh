# The index added to 002_orders.sql, which already ran (schema_migrations
# records it), so the app never runs it again; the index is then made by
# hand to match.
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
