# The migration ran (make migrate says so) but the page stayed slow: the
# CREATE INDEX CONCURRENTLY failed inside the DO block, and the block
# swallowed the error. The index is then made by hand.
make migrate
psql -v ON_ERROR_STOP=1 -c 'CREATE INDEX orders_customer_id_idx ON orders (customer_id)'
