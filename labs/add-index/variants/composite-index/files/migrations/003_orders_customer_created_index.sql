-- One index that both finds a customer's orders and returns them newest
-- first, so the query needs no sort step.
CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);
