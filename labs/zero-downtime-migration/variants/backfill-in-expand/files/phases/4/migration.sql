-- Phase 5, contract: no live version reads or writes name any more.
ALTER TABLE customers DROP COLUMN name;
