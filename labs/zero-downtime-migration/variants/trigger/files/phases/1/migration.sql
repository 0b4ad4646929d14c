-- Phase 1 (expand, with a trigger): add full_name, and keep name and
-- full_name in step in the database itself for as long as both exist:
-- whichever column a version writes, the trigger copies it to the other.
-- With the trigger in place, the backfill can run right away: a row that
-- phase 0 writes while (or after) this runs gets full_name from the trigger.
ALTER TABLE customers ADD COLUMN full_name text;

CREATE FUNCTION customers_sync_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.full_name := coalesce(NEW.full_name, NEW.name);
        NEW.name := coalesce(NEW.name, NEW.full_name);
    ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
        NEW.full_name := NEW.name;
    ELSIF NEW.full_name IS DISTINCT FROM OLD.full_name THEN
        NEW.name := NEW.full_name;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER customers_sync_names BEFORE INSERT OR UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_sync_names();

-- Backfill in batches (the trigger fills name back, unchanged).
DO $$
DECLARE
    last   bigint := 0;
    max_id bigint;
BEGIN
    SELECT coalesce(max(id), 0) INTO max_id FROM customers;
    WHILE last < max_id LOOP
        UPDATE customers SET full_name = name
        WHERE id > last AND id <= last + 5000 AND full_name IS NULL;
        last := last + 5000;
        COMMIT;
    END LOOP;
END $$;
