-- Added later to save the sort, without dropping 003's index.
CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);
