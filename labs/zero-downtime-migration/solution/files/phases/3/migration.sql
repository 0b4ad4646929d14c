-- Phase 3, switch: every row has full_name now, and phase 2 (serving while
-- this runs) writes it, so NOT NULL holds. name becomes optional, so that
-- phase 4 can stop writing it. This phase's app reads full_name but still
-- writes name: phase 2, beside it during the rollout, reads name.
ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL;
ALTER TABLE customers ALTER COLUMN name DROP NOT NULL;
