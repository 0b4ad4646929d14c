-- migrate: no-transaction
-- CONCURRENTLY builds the index without blocking writes to orders, which is
-- what a busy production table needs; it cannot run inside a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
