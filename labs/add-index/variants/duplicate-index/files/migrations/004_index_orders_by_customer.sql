-- Added by a teammate who did not see 003: the same index under another name.
CREATE INDEX idx_orders_customer ON orders (customer_id);
