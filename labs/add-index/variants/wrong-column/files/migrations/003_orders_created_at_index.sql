-- A plausible mistake: index the ORDER BY column instead of the WHERE column.
CREATE INDEX orders_created_at_idx ON orders (created_at);
