# The index made by hand while experimenting, then the same index written
# as a migration with IF NOT EXISTS (which skips here and builds it in
# production).
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
