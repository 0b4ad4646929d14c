-- Phase 2: switch reads to full_name (no backfill happened).
ALTER TABLE customers ALTER COLUMN name DROP NOT NULL;
