# The right index, made by hand in psql: the database is fast, but nothing
# in migrations/ would create the index in production.
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
