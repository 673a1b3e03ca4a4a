//! Confirmation emails: recorded with the confirmation, delivered over real SMTP, exactly once.
//! Each test runs the worker's delivery passes itself and then looks at what arrived.

use crate::helpers::*;
use crate::matching::{run_match, small_cycle, Cycle};
use crate::smtp::{unused_port, Mode, SmtpServer};
use diesel::prelude::*;
use futures_util::future::join_all;
use mail_parser::MessageParser;
use placemat::db::schema::email_outbox;
use placemat::domain::{Role, Timestamp};
use placemat::email::outbox::{self, Outcome};
use placemat::email::worker::Worker;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn publish(app: &TestApp, setup: &Cycle) {
    let run = run_match(app, &setup.cycle, 1).await;
    app.publish(&run).await;
}

async fn offer_of(app: &TestApp, token: &str) -> Value {
    let page = expect_json(app.get("/api/v1/placements", token).await, StatusCode::OK).await;
    page["items"][0].clone()
}

async fn confirm(app: &TestApp, coordinator: &str, placement: &Value) -> reqwest::Response {
    app.post(
        &format!("/api/v1/placements/{}/confirm", id(placement)),
        coordinator,
        json!({}),
    )
    .await
}

async fn outbox_of(app: &TestApp) -> Vec<Value> {
    let page = expect_json(
        app.get("/api/v1/emails?limit=1000", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Runs delivery passes until one finds nothing to claim; answers how many emails the
/// passes claimed.
async fn deliver_all(worker: &Worker) -> usize {
    let mut claimed = 0;
    loop {
        match worker.run_pass().await.expect("a delivery pass") {
            0 => return claimed,
            count => claimed += count,
        }
    }
}

/// Lets the time of every waiting retry pass.
async fn retries_come_due(app: &TestApp) {
    app.db
        .write(|conn| {
            placemat::dispatch!(conn, |c| diesel::update(
                email_outbox::table.filter(email_outbox::status.eq("pending"))
            )
            .set(email_outbox::next_attempt_at.eq(Timestamp::now() - chrono::Duration::seconds(1)))
            .execute(c))?;
            Ok(())
        })
        .await
        .expect("the retries come due");
}

#[tokio::test]
async fn a_confirmed_student_gets_the_email_with_the_officer_in_cc() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let (app, worker) = spawn_app_delivering_on_demand(|config| config.smtp_url = Some(url)).await;
    let setup = small_cycle(&app).await;
    publish(&app, &setup).await;
    let (student, token) = app
        .create_student(&setup.university, "s6", "欧阳娜娜", "0854", Some(99.0))
        .await;
    let direct = format!("/api/v1/cycles/{}/direct-applications", id(&setup.cycle));
    let application = expect_json(
        app.post(&direct, &token, json!({"base_id": setup.bases["C"]["id"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(
            &format!("/api/v1/direct-applications/{}/accept", id(&application)),
            &setup.coordinators["C"],
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let offer = offer_of(&app, &token).await;
    expect_json(
        confirm(&app, &setup.coordinators["C"], &offer).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(deliver_all(&worker).await, 1);
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let message = MessageParser::default()
        .parse(&received[0].data)
        .expect("a MIME message");
    let subject = message.subject().expect("a subject");
    assert!(
        subject.contains("实习岗位确认") && subject.contains("Internship placement confirmed"),
        "{subject}"
    );
    assert!(subject.contains("Base C"));
    let to = message.to().and_then(|a| a.first()).expect("a recipient");
    assert_eq!(to.address(), student["email"].as_str());
    assert_eq!(to.name(), Some("欧阳娜娜"));
    let cc: Vec<String> = message
        .cc()
        .map(|list| {
            list.iter()
                .filter_map(|a| a.address().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(cc.len(), 1, "the USST placement officer");
    assert!(cc[0].starts_with("university_admin-"));
    let reply_to = message
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .expect("a reply-to");
    assert_eq!(reply_to, "base.c@bases.test");
    let text = message.body_text(0).expect("a plain-text part");
    assert!(
        text.contains("欧阳娜娜 同学") && text.contains("Dear 欧阳娜娜"),
        "{text}"
    );
    assert!(
        text.contains("2027-07-01")
            && text.contains("Shanghai")
            && text.contains("base.c@bases.test")
    );
    let html = message.body_html(0).expect("an HTML part");
    assert!(html.contains("<table") && html.contains("Base C Group"));
    assert_eq!(
        received[0].rcpt_to.len(),
        2,
        "the student and the officer receive it"
    );

    let outbox = outbox_of(&app).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["status"], "sent");
    assert_eq!(outbox[0]["attempts"], 1);
    assert_eq!(outbox[0]["placement_id"], offer["id"]);
    for token in [&setup.officer, &setup.coordinators["C"], &token] {
        expect_problem(
            app.get("/api/v1/emails", token).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        expect_problem(
            app.post(
                &format!("/api/v1/emails/{}/retry", id(&outbox[0])),
                token,
                json!({}),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
}

#[tokio::test]
async fn an_email_waits_for_a_mail_server_that_is_down_and_arrives_once() {
    let port = unused_port();
    let (app, worker) = spawn_app_delivering_on_demand(|config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))
    })
    .await;
    let setup = small_cycle(&app).await;
    publish(&app, &setup).await;
    let offer = offer_of(&app, &setup.students["s1"].1).await;
    expect_json(
        confirm(&app, &setup.coordinators["A"], &offer).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(deliver_all(&worker).await, 1, "one attempt, then a wait");
    let waiting = expect_json(
        app.get("/api/v1/emails?status=pending", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(waiting["total"], 1, "the email waits in the outbox");
    assert_eq!(waiting["items"][0]["attempts"], 1, "delivery was tried");
    assert!(waiting["items"][0]["last_error"].is_string());

    let smtp = SmtpServer::start_on(port);
    retries_come_due(&app).await;
    assert_eq!(deliver_all(&worker).await, 1);
    let outbox = outbox_of(&app).await;
    assert_eq!(outbox[0]["status"], "sent");
    assert_eq!(deliver_all(&worker).await, 0);
    assert_eq!(smtp.received().len(), 1, "delivered exactly once");
    let detail = expect_json(
        app.get(&format!("/api/v1/emails/{}", id(&outbox[0])), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let history = detail["history"].as_array().expect("attempts");
    assert_eq!(history.len(), 2);
    assert_eq!(
        history.last().map(|a| a["succeeded"].clone()),
        Some(json!(true))
    );
    assert!(history
        .iter()
        .rev()
        .skip(1)
        .all(|a| a["succeeded"] == false));
}

#[tokio::test]
async fn a_permanent_refusal_fails_without_retries_until_an_admin_retries() {
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::Reject(550));
    let url = smtp.url();
    let (app, worker) = spawn_app_delivering_on_demand(|config| config.smtp_url = Some(url)).await;
    let setup = small_cycle(&app).await;
    publish(&app, &setup).await;
    let offer = offer_of(&app, &setup.students["s4"].1).await;
    expect_json(
        confirm(&app, &setup.coordinators["B"], &offer).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(deliver_all(&worker).await, 1);
    let outbox = outbox_of(&app).await;
    assert_eq!(outbox[0]["status"], "failed");
    assert!(
        outbox[0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("550"),
        "{}",
        outbox[0]
    );
    retries_come_due(&app).await;
    assert_eq!(
        deliver_all(&worker).await,
        0,
        "a failed email is not tried again"
    );
    let later = expect_json(
        app.get(&format!("/api/v1/emails/{}", id(&outbox[0])), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(later["attempts"], 1, "a 5xx is not retried");
    let failed = expect_json(
        app.get("/api/v1/emails?status=failed", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(failed["total"], 1);

    smtp.set_mode(Mode::Accept);
    let retried = expect_json(
        app.post(
            &format!("/api/v1/emails/{}/retry", id(&outbox[0])),
            &app.admin,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(retried["status"], "pending");
    assert_eq!(deliver_all(&worker).await, 1);
    assert_eq!(smtp.received().len(), 1);
    let outbox = outbox_of(&app).await;
    assert_eq!(outbox[0]["status"], "sent");
    expect_problem(
        app.post(
            &format!("/api/v1/emails/{}/retry", id(&outbox[0])),
            &app.admin,
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn a_refused_confirmation_leaves_no_email_and_a_repeated_one_sends_one() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let (app, worker) = spawn_app_delivering_on_demand(|config| config.smtp_url = Some(url)).await;
    let setup = small_cycle(&app).await;
    publish(&app, &setup).await;
    let offer = offer_of(&app, &setup.students["s2"].1).await;
    expect_json(
        app.post(
            &format!("/api/v1/placements/{}/decline", id(&offer)),
            &setup.coordinators["C"],
            json!({"reason": "full"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        confirm(&app, &setup.coordinators["C"], &offer).await,
        StatusCode::CONFLICT,
    )
    .await;
    let outbox = expect_json(app.get("/api/v1/emails", &app.admin).await, StatusCode::OK).await;
    assert_eq!(outbox["total"], 0, "no confirmation, no email");

    let offer = offer_of(&app, &setup.students["s1"].1).await;
    let statuses = join_all((0..20).map(|_| confirm(&app, &setup.coordinators["A"], &offer))).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|r| r.status() == StatusCode::OK)
            .count(),
        1
    );
    assert_eq!(deliver_all(&worker).await, 1);
    assert_eq!(smtp.received().len(), 1, "one confirmation, one email");
}

#[tokio::test]
async fn without_a_mail_server_emails_are_written_as_eml_files() {
    let (app, worker) = spawn_app_delivering_on_demand(|_| {}).await;
    let setup = small_cycle(&app).await;
    publish(&app, &setup).await;
    let offer = offer_of(&app, &setup.students["s1"].1).await;
    expect_json(
        confirm(&app, &setup.coordinators["A"], &offer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(deliver_all(&worker).await, 1);
    let files: Vec<_> = std::fs::read_dir(&app.mail_dir)
        .expect("the mail folder exists")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(files[0].path()).expect("readable");
    let message = MessageParser::default()
        .parse(&bytes)
        .expect("a MIME message");
    assert!(message.subject().unwrap_or("").contains("Base A"));
    assert_eq!(
        message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("s1@students.test")
    );
}

/// Confirms an offer for each of `count` students of a fresh cycle, half on each of two
/// instances; answers the second instance's worker.
async fn confirm_many_on_two_instances(app: &TestApp, count: usize) -> Worker {
    let usst = app.create_university("USST").await;
    app.create_program("0854").await;
    let base = app
        .create_base("Big Park", "Suzhou", &usst, &["0854"])
        .await;
    let cycle = app.create_open_cycle("2027 summer", 1).await;
    app.set_seats(&cycle, &base, count as i64).await;
    app.import_students(&usst, "m", count).await;
    for n in 0..count {
        let token = app.login(&format!("m{n}@students.test"), PASSWORD).await;
        let path = format!("/api/v1/cycles/{}/applications/me", id(&cycle));
        expect_json(
            app.put(&path, &token, json!({"preferences": [base["id"]]}))
                .await,
            StatusCode::OK,
        )
        .await;
    }
    let run = run_match(app, &cycle, 5).await;
    app.publish(&run).await;
    let coordinator = app
        .staff(Role::BaseCoordinator, None, Some(id(&base)))
        .await;
    let offers = expect_json(
        app.get("/api/v1/placements?limit=1000", &coordinator).await,
        StatusCode::OK,
    )
    .await;
    let offers = offers["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(offers.len(), count);
    let (second, second_worker) = app.sibling_delivering_on_demand().await;
    let confirmations = offers.iter().enumerate().map(|(n, offer)| {
        let address = if n % 2 == 0 { &app.address } else { &second };
        app.client
            .post(format!("{address}/api/v1/placements/{}/confirm", id(offer)))
            .bearer_auth(&coordinator)
            .send()
    });
    let statuses: Vec<StatusCode> = join_all(confirmations)
        .await
        .into_iter()
        .map(|response| response.expect("sent").status())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    second_worker
}

/// The distinct recipients of what the server received, and how many messages it got.
fn recipients(smtp: &SmtpServer) -> (usize, usize) {
    let received = smtp.received();
    let mut recipients: Vec<String> = received
        .iter()
        .map(|r| {
            let message = MessageParser::default()
                .parse(&r.data)
                .expect("a MIME message");
            message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    recipients.sort();
    recipients.dedup();
    (received.len(), recipients.len())
}

#[tokio::test]
async fn two_instances_deliver_a_hundred_confirmations_exactly_once_each() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let (app, worker) = spawn_app_delivering_on_demand(|config| config.smtp_url = Some(url)).await;
    let second_worker = confirm_many_on_two_instances(&app, 100).await;

    let (first, second) = tokio::join!(deliver_all(&worker), deliver_all(&second_worker));
    assert_eq!(first + second, 100, "each email claimed by one worker");
    assert_eq!(
        recipients(&smtp),
        (100, 100),
        "every student got exactly one email"
    );
    let outbox = outbox_of(&app).await;
    assert_eq!(outbox.len(), 100);
    assert!(outbox
        .iter()
        .all(|e| e["status"] == "sent" && e["attempts"] == 1));
}

#[tokio::test]
async fn a_slow_mail_server_still_gets_each_email_once_from_two_instances() {
    let smtp = SmtpServer::start();
    smtp.set_mode(Mode::Slow(Duration::from_millis(200)));
    let url = smtp.url();
    let (app, worker) = spawn_app_delivering_on_demand(|config| config.smtp_url = Some(url)).await;
    let second_worker = confirm_many_on_two_instances(&app, 12).await;

    let (first, second) = tokio::join!(deliver_all(&worker), deliver_all(&second_worker));
    assert_eq!(first + second, 12);
    assert_eq!(
        recipients(&smtp),
        (12, 12),
        "every student got exactly one email"
    );
    let outbox = outbox_of(&app).await;
    assert!(outbox
        .iter()
        .all(|e| e["status"] == "sent" && e["attempts"] == 1));
    let detail = expect_json(
        app.get(&format!("/api/v1/emails/{}", id(&outbox[0])), &app.admin)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["history"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_outcome_is_not_recorded_once_another_worker_holds_the_claim() {
    let (app, _worker) = spawn_app_delivering_on_demand(|_| {}).await;
    let setup = small_cycle(&app).await;
    publish(&app, &setup).await;
    let offer = offer_of(&app, &setup.students["s1"].1).await;
    expect_json(
        confirm(&app, &setup.coordinators["A"], &offer).await,
        StatusCode::OK,
    )
    .await;
    let lease = chrono::Duration::minutes(2);
    let first_claim = app
        .db
        .write(move |conn| Ok(outbox::claim_due(conn, 5, lease)?))
        .await
        .expect("a first claim");
    assert_eq!(first_claim.len(), 1);
    retries_come_due(&app).await;
    let second_claim = app
        .db
        .write(move |conn| Ok(outbox::claim_due(conn, 5, lease)?))
        .await
        .expect("a second claim after the lease");
    assert_eq!(second_claim.len(), 1);

    let late = first_claim.into_iter().next().expect("one email");
    let recorded = app
        .db
        .write(move |conn| Ok(outbox::record(conn, &late, &Outcome::Sent)?))
        .await
        .expect("the record runs");
    assert!(!recorded, "the first worker no longer holds the claim");
    let current = second_claim.into_iter().next().expect("one email");
    let recorded = app
        .db
        .write(move |conn| {
            Ok(outbox::record(
                conn,
                &current,
                &Outcome::Failed {
                    error: "refused".into(),
                },
            )?)
        })
        .await
        .expect("the record runs");
    assert!(recorded);
    let outbox = outbox_of(&app).await;
    assert_eq!(outbox[0]["status"], "failed");
    assert_eq!(outbox[0]["attempts"], 2);
}
