//! The samples of `matching/samples/` with the assignments of the reference library.

use std::collections::HashMap;
use std::fs;

use crate::matching::{check, run, run_command, Instance};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/matching");

fn expected_assignments(name: &str) -> HashMap<String, Option<String>> {
    let text = fs::read_to_string(format!("{FIXTURES}/{name}.expected.json")).unwrap();
    let mut expected: HashMap<String, HashMap<String, Option<String>>> =
        serde_json::from_str(&text).unwrap();
    expected.remove("assignments").unwrap()
}

fn assert_matches_reference(name: &str) {
    let json = fs::read_to_string(format!("{FIXTURES}/{name}.json")).unwrap();
    let instance = Instance::parse(&json).unwrap();
    let indexed = instance.index().unwrap();
    let matching = run(&indexed.market);
    assert_eq!(check(&indexed.market, &matching), Ok(()));

    let expected = expected_assignments(name);
    assert_eq!(expected.len(), instance.students.len());
    let mut differences = Vec::new();
    for student in 0..instance.students.len() as u32 {
        let id = indexed.student_id(student);
        let ours = matching.base_of(student).map(|base| indexed.base_id(base));
        if expected[id].as_deref() != ours {
            differences.push(format!(
                "{id}: reference {:?}, engine {ours:?}",
                expected[id]
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{name}: {} differences, first {:?}",
        differences.len(),
        &differences[..differences.len().min(5)]
    );
}

#[test]
fn small_sample_matches_the_reference() {
    assert_matches_reference("small-200x15");
}

#[test]
fn medium_sample_matches_the_reference() {
    assert_matches_reference("medium-2000x100");
}

#[test]
fn alliance_sample_matches_the_reference() {
    assert_matches_reference("alliance-6000x300");
}

#[test]
fn the_command_writes_the_reference_assignments() {
    for name in ["small-200x15", "medium-2000x100", "alliance-6000x300"] {
        let input = format!("{FIXTURES}/{name}.json");
        let output = std::env::temp_dir().join(format!(
            "placemat-fixture-result-{name}-{}.json",
            std::process::id()
        ));
        let report = run_command(input.as_ref(), Some(&output)).unwrap();
        let text = fs::read_to_string(&output).unwrap();
        fs::remove_file(&output).unwrap();

        let result: serde_json::Value = serde_json::from_str(&text).unwrap();
        let written = result["assignments"].as_object().unwrap();
        let expected = expected_assignments(name);
        assert_eq!(written.len(), expected.len(), "{name}");
        for (id, base) in written {
            assert_eq!(base.as_str(), expected[id].as_deref(), "{name}: {id}");
        }
        let unmatched = expected.values().filter(|base| base.is_none()).count();
        assert_eq!(report.statistics.unmatched as usize, unmatched, "{name}");
        assert_eq!(
            result["unmatched_reasons"].as_object().unwrap().len(),
            unmatched,
            "{name}"
        );
    }
}
