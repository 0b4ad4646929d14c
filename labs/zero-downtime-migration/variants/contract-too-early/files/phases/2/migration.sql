-- Phase 2, backfill: phase 1, the only version live now, writes both
-- columns, so copying name into full_name once is enough. Batches of 5,000
-- rows, each its own transaction, keep row locks short and let autovacuum
-- keep up on a big table. IS DISTINCT FROM also fixes rows whose name
-- phase 0 changed after phase 1 had written full_name (during the overlap).
DO $$
DECLARE
    batch  constant bigint := 5000;
    last   bigint := 0;
    max_id bigint;
BEGIN
    SELECT coalesce(max(id), 0) INTO max_id FROM customers;
    WHILE last < max_id LOOP
        UPDATE customers SET full_name = name
        WHERE id > last AND id <= last + batch AND full_name IS DISTINCT FROM name;
        last := last + batch;
        COMMIT;
    END LOOP;
END $$;
