-- Changes to a cycle's inputs made by students' lists, counted apart from the cycle's row:
-- the inputs' version is the row's `inputs_version` plus the counts here. Each change adds
-- one to a slot picked at random, so that on PostgreSQL concurrent submissions lock
-- different rows and commit together instead of queueing on the cycle's row; they hold
-- that row only in key-share mode, which a publish's FOR UPDATE waits for (see
-- src/services/inputs.rs).
CREATE TABLE cycle_input_counts (
    cycle_id TEXT NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL CHECK (slot >= 0),
    changes INTEGER NOT NULL CHECK (changes >= 0),
    PRIMARY KEY (cycle_id, slot)
);
