-- Phase 4: contract.
BEGIN;
ALTER TABLE customers DROP COLUMN name;
ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
COMMIT;
