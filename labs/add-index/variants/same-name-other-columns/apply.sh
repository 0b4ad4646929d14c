# The right index made by hand while experimenting; the migration, written
# later with IF NOT EXISTS, has the columns the wrong way round. Here it
# skips (an index of that name exists); in production it builds the
# useless one.
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
