//! A small cycle from applications to offers, with the expected matching worked out by hand.

use crate::helpers::*;
use placemat::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;

pub struct Cycle {
    pub cycle: Value,
    pub bases: HashMap<&'static str, Value>,
    pub students: HashMap<&'static str, (Value, String)>,
    pub coordinators: HashMap<&'static str, String>,
    pub officer: String,
    pub university: Value,
}

/// Bases A (1 seat), B (1 seat, ranks its applicants itself) and C (2 seats); five
/// students of distinct scores. Student-proposing deferred acceptance gives:
/// s1 → A (1st choice), s2 → C (2nd), s4 → B (1st), s3 and s5 unmatched.
pub async fn small_cycle(app: &TestApp) -> Cycle {
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let mut bases = HashMap::new();
    for name in ["A", "B", "C"] {
        let base = app
            .create_base(&format!("Base {name}"), "Shanghai", &usst, &["0854"])
            .await;
        bases.insert(name, base);
    }
    let cycle = app.create_open_cycle("2027 summer", 3).await;
    for (name, seats) in [("A", 1), ("B", 1), ("C", 2)] {
        app.set_seats(&cycle, &bases[name], seats).await;
    }
    let mut students = HashMap::new();
    for (key, score) in [
        ("s1", 90.0),
        ("s2", 80.0),
        ("s3", 70.0),
        ("s4", 60.0),
        ("s5", 50.0),
    ] {
        let student = app
            .create_student(&usst, key, &format!("Student {key}"), "0854", Some(score))
            .await;
        students.insert(key, student);
    }
    let lists: [(&str, &[&str]); 5] = [
        ("s1", &["A", "B"]),
        ("s2", &["A", "C"]),
        ("s3", &["A", "B"]),
        ("s4", &["B", "C"]),
        ("s5", &["A"]),
    ];
    for (student, list) in lists {
        let preferences: Vec<&Value> = list.iter().map(|b| &bases[b]["id"]).collect();
        let response = app
            .put(
                &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
                &students[student].1,
                json!({"preferences": preferences}),
            )
            .await;
        expect_json(response, StatusCode::OK).await;
    }
    let mut coordinators = HashMap::new();
    for name in ["A", "B", "C"] {
        coordinators.insert(
            name,
            app.staff(Role::BaseCoordinator, None, Some(id(&bases[name])))
                .await,
        );
    }
    let ranking: Vec<&Value> = ["s4", "s3", "s1"]
        .iter()
        .map(|s| &students[s].0["id"])
        .collect();
    let response = app
        .put(
            &format!("/api/v1/cycles/{}/rankings/{}", id(&cycle), id(&bases["B"])),
            &coordinators["B"],
            json!({"student_ids": ranking}),
        )
        .await;
    expect_json(response, StatusCode::OK).await;
    let officer = app.staff(Role::UniversityAdmin, Some("USST"), None).await;
    Cycle {
        cycle,
        bases,
        students,
        coordinators,
        officer,
        university: usst,
    }
}

pub async fn run_match(app: &TestApp, cycle: &Value, seed: i64) -> Value {
    let response = app
        .post(
            &format!("/api/v1/cycles/{}/match-runs", id(cycle)),
            &app.admin,
            json!({"seed": seed}),
        )
        .await;
    expect_json(response, StatusCode::CREATED).await
}

pub async fn assignments(app: &TestApp, run: &Value) -> Vec<Value> {
    let page = expect_json(
        app.get(
            &format!("/api/v1/match-runs/{}/assignments?limit=1000", id(run)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

fn result_of<'a>(items: &'a [Value], student: &Value) -> &'a Value {
    items
        .iter()
        .find(|item| item["student_id"] == student["id"])
        .expect("every applicant has a result")
}

#[tokio::test]
async fn the_alliance_runs_and_publishes_the_student_optimal_stable_matching() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let run = run_match(&app, &setup.cycle, 7).await;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["seed"], 7);
    assert_eq!(run["stale"], false);
    assert_eq!(run["stats"]["applicants"], 5);
    assert_eq!(run["stats"]["matched"], 3);
    assert_eq!(run["stats"]["unmatched"], 2);
    assert_eq!(run["stats"]["seats"], 4);
    assert_eq!(run["stats"]["filled"], 3);
    assert_eq!(run["stats"]["rank_histogram"], json!({"1": 2, "2": 1}));

    let items = assignments(&app, &run).await;
    assert_eq!(items.len(), 5);
    let student = |key: &str| &setup.students[key].0;
    let expected = [
        ("s1", Some("A"), Some(1)),
        ("s2", Some("C"), Some(2)),
        ("s3", None, None),
        ("s4", Some("B"), Some(1)),
        ("s5", None, None),
    ];
    for (key, base, rank) in expected {
        let result = result_of(&items, student(key));
        assert_eq!(
            result["base_id"],
            base.map(|b| setup.bases[b]["id"].clone())
                .unwrap_or(Value::Null),
            "{key}"
        );
        assert_eq!(
            result["choice_rank"],
            rank.map(Value::from).unwrap_or(Value::Null),
            "{key}"
        );
    }
    let s3 = result_of(&items, student("s3"));
    let reasons = s3["unmatched_reason"]
        .as_array()
        .expect("reasons for the unmatched");
    assert_eq!(reasons.len(), 2, "one reason per listed base");
    assert_eq!(reasons[0]["base_id"], setup.bases["A"]["id"]);
    assert_eq!(reasons[0]["reason"], "full_with_higher_ranked");
    assert_eq!(reasons[0]["seats"], 1);
    assert_eq!(reasons[0]["last_kept_rank"], 1);
    assert_eq!(
        reasons[0]["student_rank"], 3,
        "A orders its unranked applicants by score"
    );
    assert_eq!(reasons[1]["base_id"], setup.bases["B"]["id"]);
    assert_eq!(
        reasons[1]["student_rank"], 2,
        "B's own ranking puts s4 first, s3 second"
    );
    assert!(reasons[1]["message"]
        .as_str()
        .unwrap_or("")
        .contains("1 seats"));
    let s2 = result_of(&items, student("s2"));
    assert_eq!(s2["higher_choices"][0]["base_id"], setup.bases["A"]["id"]);

    let unmatched = expect_json(
        app.get(
            &format!("/api/v1/match-runs/{}/assignments?matched=false", id(&run)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unmatched["total"], 2);

    let placements_before = expect_json(
        app.get("/api/v1/placements", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        placements_before["total"], 0,
        "running changes no placement"
    );

    let published = app.publish(&run).await;
    assert_eq!(published["status"], "published");
    let offers = expect_json(
        app.get("/api/v1/placements?status=offered", &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(offers["total"], 3);
    let mine = expect_json(
        app.get("/api/v1/placements", &setup.students["s1"].1).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["base_id"], setup.bases["A"]["id"]);
    assert_eq!(mine["items"][0]["status"], "offered");
    let seats = expect_json(
        app.get(
            &format!("/api/v1/cycles/{}/seats", id(&setup.cycle)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let free: i64 = seats["items"]
        .as_array()
        .map(|items| items.iter().map(|i| i["free"].as_i64().unwrap_or(0)).sum())
        .unwrap_or(0);
    assert_eq!(free, 1, "C keeps one free seat");
    let cycle = expect_json(
        app.get(&format!("/api/v1/cycles/{}", id(&setup.cycle)), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cycle["phase"], "published");
    let problem = expect_problem(
        app.put(
            &format!(
                "/api/v1/cycles/{}/rankings/{}",
                id(&setup.cycle),
                id(&setup.bases["A"])
            ),
            &app.admin,
            json!({"student_ids": []}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "cycle-published");

    let again = run_match(&app, &setup.cycle, 8).await;
    let problem = expect_problem(
        app.post(
            &format!("/api/v1/match-runs/{}/publish", id(&again)),
            &app.admin,
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "cycle-published");
    let problem = expect_problem(
        app.post(
            &format!("/api/v1/match-runs/{}/publish", id(&run)),
            &app.admin,
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "cycle-published");
    let offers = expect_json(
        app.get("/api/v1/placements", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(offers["total"], 3, "a second publication creates nothing");
}

#[tokio::test]
async fn a_run_is_reproducible_from_its_seed_and_stale_after_a_change() {
    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app.create_base("Only Seat", "Wuxi", &usst, &["0854"]).await;
    let cycle = app.create_open_cycle("2027 summer", 1).await;
    app.set_seats(&cycle, &base, 1).await;
    let mut tokens = Vec::new();
    for number in ["t1", "t2", "t3", "t4"] {
        let (_, token) = app
            .create_student(&usst, number, "Tied", "0854", None)
            .await;
        let response = app
            .put(
                &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
                &token,
                json!({"preferences": [base["id"]]}),
            )
            .await;
        expect_json(response, StatusCode::OK).await;
        tokens.push(token);
    }
    let winner = |items: Vec<Value>| {
        items
            .into_iter()
            .find(|i| !i["base_id"].is_null())
            .map(|i| i["student_id"].clone())
    };
    let first = run_match(&app, &cycle, 2027).await;
    let second = run_match(&app, &cycle, 2027).await;
    let first_winner = winner(assignments(&app, &first).await).expect("the seat is filled");
    assert_eq!(
        Some(first_winner.clone()),
        winner(assignments(&app, &second).await),
        "same seed, same lottery"
    );
    let mut winners = std::collections::HashSet::new();
    for seed in 0..12 {
        let run = run_match(&app, &cycle, seed).await;
        winners.insert(
            winner(assignments(&app, &run).await)
                .expect("filled")
                .to_string(),
        );
    }
    assert!(
        winners.len() > 1,
        "other seeds draw other winners among tied applicants"
    );
    let listed = expect_json(
        app.get(
            &format!("/api/v1/cycles/{}/match-runs?limit=100", id(&cycle)),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["total"], 14);

    let response = app
        .put(
            &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
            &tokens[0],
            json!({"preferences": [base["id"]]}),
        )
        .await;
    expect_json(response, StatusCode::OK).await;
    let stale = expect_json(
        app.get(&format!("/api/v1/match-runs/{}", id(&first)), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stale["stale"], true);
    let problem = expect_problem(
        app.post(
            &format!("/api/v1/match-runs/{}/publish", id(&first)),
            &app.admin,
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem_type(&problem), "run-stale");
    assert!(problem["detail"].as_str().unwrap_or("").contains("stale"));
    let fresh = run_match(&app, &cycle, 1).await;
    app.publish(&fresh).await;
}

#[tokio::test]
async fn only_the_alliance_admin_runs_reads_and_publishes_matches() {
    let app = spawn_app().await;
    let setup = small_cycle(&app).await;
    let run = run_match(&app, &setup.cycle, 1).await;
    let outsiders = [
        ("officer", setup.officer.clone()),
        ("coordinator", setup.coordinators["A"].clone()),
        ("student", setup.students["s1"].1.clone()),
    ];
    for (who, token) in &outsiders {
        for response in [
            app.post(
                &format!("/api/v1/cycles/{}/match-runs", id(&setup.cycle)),
                token,
                json!({}),
            )
            .await,
            app.get(&format!("/api/v1/match-runs/{}", id(&run)), token)
                .await,
            app.get(
                &format!("/api/v1/match-runs/{}/assignments", id(&run)),
                token,
            )
            .await,
            app.post(
                &format!("/api/v1/match-runs/{}/publish", id(&run)),
                token,
                json!({}),
            )
            .await,
        ] {
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who}");
        }
    }
    // A null body, like no body, lets placemat draw the seed.
    let drawn = expect_json(
        app.post(
            &format!("/api/v1/cycles/{}/match-runs", id(&setup.cycle)),
            &app.admin,
            Value::Null,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(
        drawn["seed"].as_i64().is_some_and(|seed| seed >= 0),
        "{drawn}"
    );
    expect_problem(
        app.post(
            &format!("/api/v1/cycles/{}/match-runs", id(&setup.cycle)),
            &app.admin,
            json!({"seed": "abc"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/cycles/6f1c1f5e-0000-4000-8000-000000000000/match-runs",
            &app.admin,
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/match-runs/6f1c1f5e-0000-4000-8000-000000000000/publish",
            &app.admin,
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let placements = expect_json(
        app.get("/api/v1/placements", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(placements["total"], 0);
}

/// Fires a publish together with `changes` resubmitted lists, alternating between two
/// instances; answers the publish's status and problem, and each change's status and body.
async fn publish_among_changes(
    app: &TestApp,
    second: &str,
    run: &Value,
    changes: &[(String, Value)],
    cycle: &Value,
) -> ((StatusCode, Value), Vec<(StatusCode, Value)>) {
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.expect("sent");
        let status = response.status();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    };
    let apply = format!("/api/v1/cycles/{}/applications/me", id(cycle));
    let publish = format!("/api/v1/match-runs/{}/publish", id(run));
    let (earlier, later) = changes.split_at(changes.len() / 2);
    let change = |n: usize, (token, list): &(String, Value)| {
        let address = if n.is_multiple_of(2) {
            &app.address
        } else {
            second
        };
        let request = app
            .client
            .put(format!("{address}{apply}"))
            .bearer_auth(token)
            .json(&json!({"preferences": list}));
        send(request)
    };
    let publishing = send(
        app.client
            .post(format!("{second}{publish}"))
            .bearer_auth(&app.admin)
            .json(&json!({})),
    );
    let (first_half, published, second_half) = tokio::join!(
        futures_util::future::join_all(earlier.iter().enumerate().map(|(n, c)| change(n, c))),
        publishing,
        futures_util::future::join_all(later.iter().enumerate().map(|(n, c)| change(n + 1, c))),
    );
    (
        published,
        first_half.into_iter().chain(second_half).collect(),
    )
}

#[tokio::test]
async fn a_publish_racing_application_changes_never_publishes_a_run_they_made_stale() {
    let app = spawn_app().await;
    let second = app.sibling().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let first_choice = app.create_base("North", "Wuxi", &usst, &["0854"]).await;
    let other = app.create_base("South", "Wuxi", &usst, &["0854"]).await;
    let mut tokens = Vec::new();
    for n in 0..10 {
        let (_, token) = app
            .create_student(&usst, &format!("r{n:02}"), "Racer", "0854", Some(50.0))
            .await;
        tokens.push(token);
    }
    for round in 0..5 {
        let cycle = app.create_open_cycle(&format!("Race {round}"), 2).await;
        app.set_seats(&cycle, &first_choice, 10).await;
        app.set_seats(&cycle, &other, 10).await;
        for token in &tokens {
            let applied = app
                .put(
                    &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
                    token,
                    json!({"preferences": [first_choice["id"]]}),
                )
                .await;
            expect_json(applied, StatusCode::OK).await;
        }
        let run = run_match(&app, &cycle, round).await;
        assert_eq!(run["stats"]["matched"], 10);
        // Every student asks four times to move to the other base: 40 changes.
        let changes: Vec<(String, Value)> = (0..4)
            .flat_map(|_| tokens.iter())
            .map(|token| (token.clone(), json!([other["id"]])))
            .collect();
        let ((status, problem), answers) =
            publish_among_changes(&app, &second, &run, &changes, &cycle).await;
        let accepted = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .count();
        let cycle_now = expect_json(
            app.get(&format!("/api/v1/cycles/{}", id(&cycle)), &app.admin)
                .await,
            StatusCode::OK,
        )
        .await;
        if status == StatusCode::OK {
            assert_eq!(
                accepted, 0,
                "round {round}: a change was accepted beside the publish"
            );
            for (status, problem) in &answers {
                assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
                assert_eq!(fields_at_fault(problem), ["cycle"], "{problem}");
            }
            assert_eq!(cycle_now["published_run_id"], run["id"]);
            for token in &tokens {
                let mine = expect_json(
                    app.get(
                        &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
                        token,
                    )
                    .await,
                    StatusCode::OK,
                )
                .await;
                assert_eq!(
                    mine["preferences"],
                    json!([first_choice["id"]]),
                    "round {round}: the published run was made from the list the student has"
                );
            }
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "round {round}: {problem}");
            assert_eq!(problem_type(&problem), "run-stale", "round {round}");
            assert_eq!(
                accepted,
                changes.len(),
                "round {round}: nothing refused the changes"
            );
            assert!(cycle_now["published_run_id"].is_null());
            let fresh = run_match(&app, &cycle, round).await;
            let published = app.publish(&fresh).await;
            assert_eq!(published["stats"]["matched"], 10);
        }
    }
}

/// The order the race above can hit only by chance, made certain: a list change is under way
/// (its cycle counted, not yet committed) when the publish starts. The publish must wait
/// for it and then refuse the run as stale; publishing it would hand out offers made from a
/// list the student has already replaced.
#[tokio::test]
async fn a_publish_waits_for_a_change_under_way_and_refuses_the_run_it_made_stale() {
    use placemat::db::Database;
    use placemat::domain::{Conflict, CycleId, DomainError, MatchRunId, UserId};
    use placemat::services::{inputs, match_runs};
    use std::sync::mpsc;
    use std::time::Duration;

    let app = spawn_app().await;
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app.create_base("North", "Wuxi", &usst, &["0854"]).await;
    let cycle = app.create_open_cycle("Held", 2).await;
    app.set_seats(&cycle, &base, 5).await;
    let (_, token) = app
        .create_student(&usst, "h01", "Holder", "0854", Some(50.0))
        .await;
    let applied = app
        .put(
            &format!("/api/v1/cycles/{}/applications/me", id(&cycle)),
            &token,
            json!({"preferences": [base["id"]]}),
        )
        .await;
    expect_json(applied, StatusCode::OK).await;
    let me = expect_json(app.get("/api/v1/me", &app.admin).await, StatusCode::OK).await;

    fn parse<T: std::str::FromStr>(value: &Value) -> T {
        match value.as_str().map(str::parse) {
            Some(Ok(id)) => id,
            _ => panic!("not an id: {value}"),
        }
    }
    let cycle_id: CycleId = parse(&cycle["id"]);
    let admin: UserId = parse(&me["id"]);
    let db = Database::connect(&app.config.database_url, 2).expect("connects");
    // Earlier changes, enough to have counted in every slot: the change below then only
    // updates its slot, and no foreign key check takes the cycle's row for it.
    db.write_blocking(|conn| -> Result<(), DomainError> {
        for _ in 0..1000 {
            assert!(inputs::touch(conn, cycle_id)?);
        }
        Ok(())
    })
    .expect("counted");
    let run = run_match(&app, &cycle, 7).await;
    let run_id: MatchRunId = parse(&run["id"]);
    let (counted, started) = mpsc::channel();
    let changing = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.write_blocking(|conn| -> Result<bool, DomainError> {
                let open = inputs::touch(conn, cycle_id)?;
                counted.send(()).expect("the publish waits to hear");
                std::thread::sleep(Duration::from_millis(500));
                Ok(open)
            })
        })
    };
    started.recv().expect("the change counted");
    let publishing = std::thread::spawn(move || {
        db.write_blocking(|conn| match_runs::publish(conn, run_id, admin))
    });

    assert_eq!(changing.join().expect("the change ends").ok(), Some(true));
    match publishing.join().expect("the publish ends") {
        Err(DomainError::Conflict(Conflict::RunStale, _)) => {}
        other => panic!("the publish went past a change under way: {other:?}"),
    }
    let after = expect_json(
        app.get(&format!("/api/v1/cycles/{}", id(&cycle)), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(after["published_run_id"].is_null());
}
