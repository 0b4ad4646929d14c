-- Phase 3: switch and contract at once (wrong: phase 2 still serves, and
-- reads and writes name, while this runs and while both versions overlap).
ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
ALTER TABLE customers DROP COLUMN name;
