# 003 creates the index and 004 drops it again; after make migrate the
# index is created by hand, "after the import".
make migrate
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
