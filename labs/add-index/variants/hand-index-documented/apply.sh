# The index made by hand in psql; the migration only names it inside a
# string (a column comment).
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
