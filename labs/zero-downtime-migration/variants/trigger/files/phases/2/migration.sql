-- Phase 2 (contract): phase 1 uses only full_name; the trigger filled name
-- for phase 0, which is gone. One transaction, so that no insert of phase 1
-- ever meets the table without the trigger but with name still NOT NULL.
BEGIN;
DROP TRIGGER customers_sync_names ON customers;
DROP FUNCTION customers_sync_names();
ALTER TABLE customers DROP COLUMN name;
ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
COMMIT;
