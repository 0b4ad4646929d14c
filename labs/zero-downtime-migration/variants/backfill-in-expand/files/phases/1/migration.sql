-- Phase 1: expand and backfill in one migration (wrong: phase 0 keeps
-- inserting rows without full_name after the UPDATE, until phase 1 has
-- taken all traffic).
ALTER TABLE customers ADD COLUMN full_name text;
UPDATE customers SET full_name = name;
