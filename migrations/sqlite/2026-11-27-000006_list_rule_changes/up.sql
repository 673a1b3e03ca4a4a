-- A counter of the changes to what a student's ranked list is checked against: a cycle's
-- settings (its window, its limit, its publication), the bases (added, removed, taking
-- interns or not), the programs they accept and their seats in a cycle. Instances that keep
-- these rules per cycle (see src/services/applications.rs) read it to know when to read them
-- again. Submitting a list changes none of them: it moves only the cycle's input counters,
-- which the cycles trigger leaves out, so a deadline burst keeps the rules. A migration that
-- adds a column to `cycles` must name it below, and one that rebuilds any of these tables
-- must create its triggers again.
CREATE TABLE list_rule_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO list_rule_changes (id, version) VALUES (1, 0);

CREATE TRIGGER cycles_updated_change_list_rules
AFTER UPDATE OF id, name, applications_open_at, applications_close_at, max_preferences,
    starts_on, ends_on, published_run_id, created_at, updated_at ON cycles
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER cycles_deleted_change_list_rules AFTER DELETE ON cycles
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER bases_added_change_list_rules AFTER INSERT ON bases
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER bases_updated_change_list_rules AFTER UPDATE ON bases
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER bases_deleted_change_list_rules AFTER DELETE ON bases
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER base_programs_added_change_list_rules AFTER INSERT ON base_programs
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER base_programs_updated_change_list_rules AFTER UPDATE ON base_programs
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER base_programs_deleted_change_list_rules AFTER DELETE ON base_programs
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;

-- Seats taken by placements (`taken`) do not decide whether a list is acceptable.
CREATE TRIGGER cycle_seats_added_change_list_rules AFTER INSERT ON cycle_seats
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER cycle_seats_updated_change_list_rules
AFTER UPDATE OF cycle_id, base_id, seats ON cycle_seats
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER cycle_seats_deleted_change_list_rules AFTER DELETE ON cycle_seats
BEGIN
    UPDATE list_rule_changes SET version = version + 1 WHERE id = 1;
END;
