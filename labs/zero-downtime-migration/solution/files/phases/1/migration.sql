-- Phase 1, expand: add the new column beside the old one. Phase 0, still
-- serving while this runs, does not know full_name and leaves it NULL;
-- this phase's app writes both columns. Adding a nullable column without a
-- default only changes the catalog: it is instant whatever the table size.
ALTER TABLE customers ADD COLUMN full_name text;
