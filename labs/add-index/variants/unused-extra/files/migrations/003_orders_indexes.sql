CREATE INDEX orders_customer_id_idx ON orders (customer_id);
-- "Just in case": no query of the shop filters on status alone.
CREATE INDEX orders_status_idx ON orders (status);
