-- Rename customers.name to customers.full_name, as the data team asked.
ALTER TABLE customers RENAME COLUMN name TO full_name;
