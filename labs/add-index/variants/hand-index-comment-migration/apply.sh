# The index made by hand in psql; the migration file only quotes the
# statement in a comment, so it creates nothing where it runs.
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
