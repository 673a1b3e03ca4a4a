//! Run bundles: what `verify` accepts and each kind of tampering it names.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::matching::{
    check, lottery_numbers, order_applicants, result_sha256, verify, Bundle, Fault, Instance,
};

const SMALL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/matching/small-200x15.json"
));

fn small_bundle() -> String {
    let instance = Instance::parse(SMALL).unwrap();
    serde_json::to_string(&Bundle::offline(&instance, 7).unwrap()).unwrap()
}

/// A bundle whose bases ranked nobody themselves: every ranking is score, then the lottery
/// of `seed`. Students have no scores, so the lottery decides.
fn lottery_bundle(seed: u64) -> String {
    let students = 12u32;
    let preferences: Vec<Vec<u32>> = (0..students).map(|s| vec![s % 3, (s + 1) % 3]).collect();
    let lottery = lottery_numbers(seed, students as usize);
    let bases: Vec<Value> = (0..3u32)
        .map(|base| {
            let applicants: Vec<(u32, Option<f64>)> = (0..students)
                .filter(|s| preferences[*s as usize].contains(&base))
                .map(|s| (s, None))
                .collect();
            let order = order_applicants(&[], &applicants, &lottery);
            json!({"id": format!("B{base}"), "capacity": 3, "ranked_by_coordinator": 0,
                   "ranking": order.iter().map(|s| format!("s-{s:016x}")).collect::<Vec<_>>()})
        })
        .collect();
    let instance = json!({
        "students": (0..students).map(|s| json!({
            "id": format!("s-{s:016x}"),
            "preferences": preferences[s as usize].iter().map(|b| format!("B{b}")).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "bases": bases,
    });
    let offline_text = json!({
        "students": instance["students"],
        "bases": instance["bases"],
    })
    .to_string();
    // The engine's result for these rankings, sealed as a bundle with the seed.
    let parsed = Instance::parse(&offline_text).unwrap();
    let indexed = parsed.index().unwrap();
    let matching = crate::matching::run(&indexed.market);
    let assignments: serde_json::Map<String, Value> = (0..students)
        .map(|s| {
            (
                format!("s-{s:016x}"),
                matching
                    .base_of(s)
                    .map_or(Value::Null, |b| Value::from(format!("B{b}"))),
            )
        })
        .collect();
    let mut bundle = json!({
        "format": "placemat-run-bundle/1", "cycle_id": "c", "run": {"id": "r", "seed": seed, "made_at": ""},
        "instance": instance, "result": {"assignments": assignments},
        "digests": {"instance_sha256": "", "result_sha256": ""},
        "runs": [{"id": "r", "seed": seed, "made_at": "", "instance_sha256": "", "result_sha256": "", "published": true}],
    });
    reseal(&mut bundle);
    bundle.to_string()
}

/// Recomputes the digests (and the log's), as a careful forger would.
fn reseal(bundle: &mut Value) {
    let text = bundle.to_string();
    let parsed: Bundle<'_> = serde_json::from_str(&text).unwrap();
    let instance_sha256 = parsed.instance.sha256();
    let result_sha256 = result_sha256(parsed.instance.students.iter().map(|student| {
        let base = parsed
            .result
            .assignments
            .0
            .iter()
            .find(|(id, _)| *id == student.id)
            .and_then(|(_, base)| base.as_deref());
        (student.id.as_ref(), base)
    }));
    bundle["digests"] = json!({"instance_sha256": instance_sha256, "result_sha256": result_sha256});
    for entry in bundle["runs"].as_array_mut().unwrap() {
        entry["instance_sha256"] = json!(instance_sha256);
        entry["result_sha256"] = json!(result_sha256);
    }
}

fn value(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn a_bundle_of_an_engine_result_verifies_and_says_what_it_holds() {
    let verified = verify(&small_bundle()).unwrap();
    assert_eq!(verified.students, 200);
    assert_eq!(verified.bases, 15);
    assert_eq!(verified.runs, 1);
    verify(&lottery_bundle(42)).unwrap();
}

#[test]
fn broken_files_are_named_never_a_panic() {
    let text = small_bundle();
    assert!(matches!(
        verify(&text[..text.len() / 2]),
        Err(Fault::Truncated(_))
    ));
    assert!(matches!(verify("not json at all"), Err(Fault::NotJson(_))));
    assert!(matches!(verify(""), Err(Fault::Truncated(_))));
    assert!(matches!(verify(SMALL), Err(Fault::WrongFormat(_))));
    assert!(matches!(verify("[1, 2]"), Err(Fault::WrongFormat(_))));
    let mut other = value(&text);
    other["format"] = json!("placemat-run-bundle/0");
    assert!(matches!(
        verify(&other.to_string()),
        Err(Fault::WrongFormat(_))
    ));
    let mut negative = value(&text);
    negative["instance"]["bases"][0]["capacity"] = json!(-1);
    assert!(matches!(
        verify(&negative.to_string()),
        Err(Fault::WrongFormat(_))
    ));
}

/// Moves the first matched student to the first base it listed that is not its own.
fn move_one(bundle: &mut Value) {
    let students = bundle["instance"]["students"].as_array().unwrap().clone();
    for student in students {
        let id = student["id"].as_str().unwrap().to_owned();
        let own = bundle["result"]["assignments"][&id].clone();
        if let Some(other) = student["preferences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|base| **base != own)
        {
            bundle["result"]["assignments"][&id] = other.clone();
            return;
        }
    }
    panic!("no student to move");
}

#[test]
fn a_moved_assignment_is_caught_with_its_student_and_base() {
    let mut bundle = value(&small_bundle());
    move_one(&mut bundle);
    let fault = verify(&bundle.to_string()).unwrap_err();
    assert!(fault.to_string().contains("base"), "{fault}");
    assert!(
        matches!(
            fault,
            Fault::BlockingPair { .. }
                | Fault::OverCapacity { .. }
                | Fault::NotRanked { .. }
                | Fault::NotEngineResult { .. }
        ),
        "{fault}"
    );
    // With the digests recomputed, the matching's own fault is what shows.
    reseal(&mut bundle);
    let fault = verify(&bundle.to_string()).unwrap_err();
    assert!(!matches!(fault, Fault::ResultDigest { .. }), "{fault}");
}

#[test]
fn a_raised_capacity_is_caught() {
    let mut bundle = value(&small_bundle());
    let full = bundle["instance"]["bases"]
        .as_array()
        .unwrap()
        .iter()
        .position(|base| {
            let id = base["id"].as_str().unwrap();
            let held = bundle["result"]["assignments"]
                .as_object()
                .unwrap()
                .values()
                .filter(|b| b.as_str() == Some(id))
                .count();
            held as u64 == base["capacity"].as_u64().unwrap()
                && base["ranking"].as_array().unwrap().len() > held
        })
        .unwrap();
    let capacity = bundle["instance"]["bases"][full]["capacity"]
        .as_u64()
        .unwrap();
    bundle["instance"]["bases"][full]["capacity"] = json!(capacity + 5);
    let fault = verify(&bundle.to_string()).unwrap_err();
    assert!(
        matches!(
            fault,
            Fault::BlockingPair { .. } | Fault::InstanceDigest { .. }
        ),
        "{fault}"
    );
    reseal(&mut bundle);
    let fault = verify(&bundle.to_string()).unwrap_err();
    assert!(matches!(fault, Fault::BlockingPair { .. }), "{fault}");
    assert!(fault.to_string().contains("free seat"), "{fault}");
}

#[test]
fn a_reordered_list_is_caught() {
    // A base's lottery order swapped: the ranking no longer follows the seed.
    let mut bundle = value(&lottery_bundle(42));
    let ranking = bundle["instance"]["bases"][0]["ranking"]
        .as_array_mut()
        .unwrap();
    let last = ranking.len() - 1;
    ranking.swap(last, last - 1);
    reseal(&mut bundle);
    let fault = verify(&bundle.to_string()).unwrap_err();
    assert!(
        matches!(
            fault,
            Fault::RankingNotFromSeed { .. }
                | Fault::BlockingPair { .. }
                | Fault::NotEngineResult { .. }
        ),
        "{fault}"
    );
    // A student's list reordered, digests left as they were.
    let mut bundle = value(&small_bundle());
    let students = bundle["instance"]["students"].as_array_mut().unwrap();
    let student = students
        .iter_mut()
        .find(|student| student["preferences"].as_array().unwrap().len() > 1)
        .unwrap();
    student["preferences"].as_array_mut().unwrap().reverse();
    let fault = verify(&bundle.to_string()).unwrap_err();
    assert!(fault.to_string().contains("student"), "{fault}");
}

#[test]
fn an_edited_digest_is_caught() {
    let mut bundle = value(&small_bundle());
    bundle["digests"]["instance_sha256"] = json!("0".repeat(64));
    assert!(matches!(
        verify(&bundle.to_string()),
        Err(Fault::InstanceDigest { .. })
    ));
    let mut bundle = value(&small_bundle());
    bundle["digests"]["result_sha256"] = json!("1".repeat(64));
    assert!(matches!(
        verify(&bundle.to_string()),
        Err(Fault::ResultDigest { .. })
    ));
    let mut bundle = value(&small_bundle());
    bundle["runs"][0]["result_sha256"] = json!("1".repeat(64));
    assert!(matches!(
        verify(&bundle.to_string()),
        Err(Fault::LoggedDigests { .. })
    ));
}

#[test]
fn a_changed_seed_is_caught() {
    let mut bundle = value(&lottery_bundle(42));
    bundle["run"]["seed"] = json!(43);
    let fault = verify(&bundle.to_string()).unwrap_err();
    assert!(matches!(fault, Fault::RankingNotFromSeed { .. }), "{fault}");
    assert!(fault.to_string().contains("seed 43"), "{fault}");
    // The log keeps the seed too.
    let mut bundle = value(&lottery_bundle(42));
    bundle["runs"][0]["seed"] = json!(43);
    assert!(matches!(
        verify(&bundle.to_string()),
        Err(Fault::LoggedSeed { .. })
    ));
}

/// A small instance: up to 8 students listing up to 3 of up to 4 bases, each base ranking
/// its applicants in a random order.
fn small_instance() -> impl Strategy<Value = String> {
    (1usize..=8, 1usize..=4)
        .prop_flat_map(|(students, bases)| {
            (
                proptest::collection::vec(
                    proptest::sample::subsequence((0..bases).collect::<Vec<_>>(), 0..=bases.min(3))
                        .prop_shuffle(),
                    students,
                ),
                proptest::collection::vec(0u32..=3, bases),
                proptest::collection::vec(any::<u64>(), bases),
            )
        })
        .prop_map(|(preferences, capacities, shuffles)| {
            let bases: Vec<Value> = capacities
                .iter()
                .enumerate()
                .map(|(base, capacity)| {
                    let mut ranking: Vec<usize> = (0..preferences.len())
                        .filter(|s| preferences[*s].contains(&base))
                        .collect();
                    ranking.sort_by_key(|s| (*s as u64 + 1).wrapping_mul(shuffles[base] | 1));
                    json!({"id": format!("B{base}"), "capacity": capacity,
                           "ranking": ranking.iter().map(|s| format!("S{s}")).collect::<Vec<_>>()})
                })
                .collect();
            json!({
                "students": preferences.iter().enumerate().map(|(s, list)| json!({
                    "id": format!("S{s}"),
                    "preferences": list.iter().map(|b| format!("B{b}")).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "bases": bases,
            })
            .to_string()
        })
}

proptest! {
    #[test]
    fn verify_accepts_every_engine_result_and_rejects_every_change_that_breaks_stability(
        text in small_instance()
    ) {
        let instance = Instance::parse(&text).unwrap();
        let bundle = Bundle::offline(&instance, 1).unwrap();
        let sealed = serde_json::to_string(&bundle).unwrap();
        prop_assert!(verify(&sealed).is_ok(), "{:?}", verify(&sealed));

        let indexed = bundle.instance.as_instance().index().unwrap();
        let market = &indexed.market;
        let engine = crate::matching::run(market);
        let assigned: Vec<Option<u32>> =
            (0..market.student_count() as u32).map(|s| engine.base_of(s)).collect();
        for student in 0..market.student_count() {
            let choices = std::iter::once(None).chain((0..market.base_count() as u32).map(Some));
            for choice in choices.filter(|choice| *choice != assigned[student]) {
                let mut changed = assigned.clone();
                changed[student] = choice;
                let matching = crate::matching::Matching::from_assignments(market, &changed).unwrap();
                let breaks = check(market, &matching).is_err();
                let mut tampered: Value = serde_json::from_str(&sealed).unwrap();
                let id = bundle.instance.students[student].id.to_string();
                tampered["result"]["assignments"][&id] =
                    choice.map_or(Value::Null, |b| json!(format!("B{b}")));
                reseal(&mut tampered);
                let outcome = verify(&tampered.to_string());
                if breaks {
                    let fault = outcome.unwrap_err();
                    prop_assert!(
                        matches!(
                            fault,
                            Fault::BlockingPair { .. }
                                | Fault::OverCapacity { .. }
                                | Fault::NotListed { .. }
                                | Fault::NotRanked { .. }
                        ),
                        "{}", fault
                    );
                } else {
                    prop_assert!(outcome.is_err());
                }
            }
        }
    }
}
