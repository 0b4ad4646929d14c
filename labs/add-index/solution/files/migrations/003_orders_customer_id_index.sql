-- "My orders" looks up orders by customer_id. The foreign key to customers
-- does not index this column (PostgreSQL indexes only the referenced side,
-- customers.id), so every page view read the whole orders table.
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
