-- When a cycle's inputs last changed was written but never read, and list changes counted
-- in `cycle_input_counts` no longer touch the cycle's row; the version alone tells whether
-- a run is stale.
ALTER TABLE cycles DROP COLUMN inputs_changed_at;
