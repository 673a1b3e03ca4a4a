//! Benchmarks the placement statistics export over HTTP on a large cycle.
//!
//!     cargo run --release --example bench_stats -- [--placements 100000] [--repeat 5]
//!     PLACEMAT_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo run --release --example bench_stats
//!
//! It seeds a fresh database (a temporary SQLite file, or a new database on the PostgreSQL
//! server that `PLACEMAT_BENCH_DATABASE_URL` names, dropped afterwards) with 6 universities,
//! 8 programs, 1,000 bases (each open to 3 programs) and one cycle in which every student
//! (100,000 by default) lists 1 to 5 bases open to its program, as the demo data does, and
//! holds one placement at one of them, in one of the five states. Rows go in by diesel
//! batch inserts of placemat's own models. It then starts placemat on a free port, signs in
//! an alliance admin and times `GET /api/v1/stats/placements` for each grouping in JSON,
//! CSV and XLSX: the median of `--repeat` requests, each timed until its whole body has
//! arrived.

use anyhow::{bail, Context};
use chrono::{NaiveDate, TimeDelta, Utc};
use diesel::{Connection, RunQueryDsl};
use placemat::config::Config;
use placemat::db::models::{
    ApplicationRow, Base, BaseProgram, Cycle, CycleSeats, PlacementRow, PreferenceRow, Program,
    Student, University,
};
use placemat::db::schema::{
    application_preferences, applications, base_programs, bases, cycle_seats, cycles, placements,
    programs, students, universities,
};
use placemat::db::{write_transaction, Database, DbConn};
use placemat::dispatch;
use placemat::domain::*;
use placemat::startup::Application;
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const UNIVERSITIES: [(&str, &str); 6] = [
    ("USST", "上海理工大学"),
    ("UJS", "江苏大学"),
    ("SHU", "上海大学"),
    ("JNU", "江南大学"),
    ("NJTECH", "南京工业大学"),
    ("CZU", "常州大学"),
];
const PROGRAMS: [(&str, &str); 8] = [
    ("0854", "电子信息"),
    ("0855", "机械"),
    ("0856", "材料与化工"),
    ("0857", "资源与环境"),
    ("0858", "能源动力"),
    ("0859", "土木水利"),
    ("0860", "生物与医药"),
    ("0861", "交通运输"),
];
const CITIES: [&str; 5] = ["Shanghai", "Suzhou", "Wuxi", "Nanjing", "Changzhou"];
const BASES: usize = 1_000;
/// The most bases a student lists (each lists 1 to this many).
const PREFERENCES: usize = 5;
/// Programs each base is open to.
const PROGRAMS_PER_BASE: usize = 3;
/// How often each status occurs, out of 100 placements.
const STATUS_MIX: [(PlacementStatus, u32); 5] = [
    (PlacementStatus::Offered, 30),
    (PlacementStatus::Confirmed, 35),
    (PlacementStatus::Declined, 10),
    (PlacementStatus::Withdrawn, 10),
    (PlacementStatus::Completed, 15),
];
/// Rows per insert statement: under SQLite's and PostgreSQL's limits on bound parameters
/// for the widest row inserted (10 columns).
const BATCH: usize = 1_000;
const SEED: u64 = 2027;
const ADMIN_EMAIL: &str = "bench-admin@alliance.test";
const ADMIN_PASSWORD: &str = "bench-password";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (placement_count, repeat) = arguments()?;
    let workdir = tempfile::tempdir().context("a temporary folder")?;
    let database = match std::env::var("PLACEMAT_BENCH_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => BenchDatabase::postgres(&server)?,
        Ok(other) => bail!("PLACEMAT_BENCH_DATABASE_URL must be postgres://…, not {other}"),
        Err(_) => BenchDatabase::Sqlite(format!(
            "sqlite://{}",
            workdir.path().join("bench.db").display()
        )),
    };
    let outcome = run(&database, &workdir, placement_count, repeat).await;
    database.drop_database();
    outcome
}

fn arguments() -> anyhow::Result<(usize, usize)> {
    let mut placement_count = 100_000;
    let mut repeat = 5;
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let mut remaining = arguments.iter();
    while let Some(argument) = remaining.next() {
        let value = remaining
            .next()
            .with_context(|| format!("{argument} needs a value"))?;
        let number: usize = value
            .parse()
            .with_context(|| format!("{argument} {value}: not a count"))?;
        match argument.as_str() {
            "--placements" => placement_count = number,
            "--repeat" => repeat = number,
            other => bail!("unknown argument {other}; usage: [--placements N] [--repeat N]"),
        }
    }
    if placement_count == 0 || repeat == 0 {
        bail!("--placements and --repeat must be at least 1");
    }
    Ok((placement_count, repeat))
}

/// Where the benchmark's data lives.
enum BenchDatabase {
    Sqlite(String),
    /// The database's URL, the server's URL and the database's name (to drop it).
    Postgres {
        url: String,
        server: String,
        name: String,
    },
}

impl BenchDatabase {
    fn postgres(server: &str) -> anyhow::Result<Self> {
        let name = format!("placemat_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(server)
            .context("cannot connect to PLACEMAT_BENCH_DATABASE_URL")?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        let (base, _) = server
            .rsplit_once('/')
            .context("the database URL has no path")?;
        Ok(BenchDatabase::Postgres {
            url: format!("{base}/{name}"),
            server: server.to_owned(),
            name,
        })
    }

    fn url(&self) -> &str {
        match self {
            BenchDatabase::Sqlite(url) => url,
            BenchDatabase::Postgres { url, .. } => url,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            BenchDatabase::Sqlite(_) => "SQLite",
            BenchDatabase::Postgres { .. } => "PostgreSQL",
        }
    }

    /// Drops the PostgreSQL database (the SQLite file goes with its temporary folder).
    fn drop_database(&self) {
        if let BenchDatabase::Postgres { server, name, .. } = self {
            let dropped = diesel::PgConnection::establish(server).map(|mut admin| {
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
            });
            if !matches!(dropped, Ok(Ok(_))) {
                eprintln!("could not drop the benchmark database {name}; drop it by hand");
            }
        }
    }
}

async fn run(
    database: &BenchDatabase,
    workdir: &tempfile::TempDir,
    placement_count: usize,
    repeat: usize,
) -> anyhow::Result<()> {
    let config = Config {
        database_url: database.url().to_owned(),
        bind: "127.0.0.1:0".into(),
        mail_dir: workdir.path().join("mail"),
        ..Config::default()
    };
    let app = Application::build(config).await?;
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.database().clone();
    tokio::spawn(app.run_until_stopped());

    let started = Instant::now();
    let seeding = db.clone();
    let seeded = tokio::task::spawn_blocking(move || seed(&seeding, placement_count)).await??;
    let cycle_id = seeded.cycle_id;
    println!(
        "{}: seeded {placement_count} students with applications ({} listed bases) and \
         {placement_count} placements at {BASES} bases in {:.1} s",
        database.label(),
        seeded.listings,
        started.elapsed().as_secs_f64()
    );
    let admin_db = db.clone();
    tokio::task::spawn_blocking(move || {
        placemat::cli::create_user(
            &admin_db,
            Role::AllianceAdmin,
            ADMIN_EMAIL,
            ADMIN_PASSWORD,
            None,
            None,
        )
    })
    .await??;
    let client = reqwest::Client::new();
    let token = login(&client, &address).await?;

    println!(
        "{:<11} {:>6} | {:>10} {:>10} {:>10} | median of {repeat} requests, whole body",
        "group_by", "rows", "json", "csv", "xlsx"
    );
    for group_by in ["university", "program", "base", "flow"] {
        let mut cells = Vec::new();
        let mut rows = 0;
        for format in ["json", "csv", "xlsx"] {
            let url = format!(
                "{address}/api/v1/stats/placements?cycle={cycle_id}&group_by={group_by}&format={format}"
            );
            let mut times = Vec::with_capacity(repeat);
            for _ in 0..repeat {
                let (elapsed, body) = timed_get(&client, &url, &token).await?;
                times.push(elapsed);
                if format == "json" {
                    rows = check(&body, placement_count)?;
                }
            }
            times.sort();
            cells.push(format!(
                "{:.1} ms",
                times[times.len() / 2].as_secs_f64() * 1e3
            ));
        }
        println!(
            "{group_by:<11} {rows:>6} | {:>10} {:>10} {:>10}",
            cells[0], cells[1], cells[2]
        );
    }
    Ok(())
}

async fn login(client: &reqwest::Client, address: &str) -> anyhow::Result<String> {
    let answer: serde_json::Value = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("the login answer has no token")
}

async fn timed_get(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<(Duration, Vec<u8>)> {
    let started = Instant::now();
    let response = client.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let body = response.bytes().await?.to_vec();
    let elapsed = started.elapsed();
    if !status.is_success() {
        bail!("{url}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok((elapsed, body))
}

/// Checks that the totals count every seeded placement; answers the number of rows.
fn check(body: &[u8], placement_count: usize) -> anyhow::Result<usize> {
    let stats: serde_json::Value = serde_json::from_slice(body)?;
    let totals = &stats["totals"];
    let counted: i64 = ["offered", "confirmed", "declined", "withdrawn", "completed"]
        .iter()
        .filter_map(|field| totals[field].as_i64())
        .sum();
    if usize::try_from(counted).ok() != Some(placement_count) {
        bail!("the totals count {counted} placements, not {placement_count}: {totals}");
    }
    Ok(stats["rows"].as_array().map_or(0, Vec::len))
}

/// What was seeded.
struct Seeded {
    cycle_id: CycleId,
    /// Bases listed, over all applications.
    listings: usize,
}

/// Inserts the alliance, the cycle, its students, applications and placements in one
/// transaction.
fn seed(db: &Database, placement_count: usize) -> anyhow::Result<Seeded> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let status_mix = WeightedIndex::new(STATUS_MIX.map(|(_, weight)| weight))?;
    let now = Timestamp::now();
    let joined_on = NaiveDate::from_ymd_opt(2020, 9, 1).context("a date")?;
    let universities: Vec<University> = UNIVERSITIES
        .iter()
        .map(|(code, name)| University {
            id: UniversityId::generate(),
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            joined_on,
            created_at: now,
        })
        .collect();
    let programs: Vec<Program> = PROGRAMS
        .iter()
        .map(|(code, name)| Program {
            id: ProgramId::generate(),
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            created_at: now,
        })
        .collect();
    let bases: Vec<Base> = (0..BASES)
        .map(|index| Base {
            id: BaseId::generate(),
            name: format!("实习基地 {index:04}"),
            organisation: format!("Organisation {index:04}"),
            city: CITIES[index % CITIES.len()].to_owned(),
            host_university_id: universities[index % universities.len()].id,
            coordinator_email: format!("base{index:04}@bases.bench"),
            coordinator_name: None,
            coordinator_phone: None,
            active: true,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let mut open_to: Vec<Vec<usize>> = vec![Vec::new(); programs.len()];
    let mut base_programs = Vec::with_capacity(BASES * PROGRAMS_PER_BASE);
    for (index, base) in bases.iter().enumerate() {
        for offset in 0..PROGRAMS_PER_BASE {
            let program = (index + offset) % programs.len();
            open_to[program].push(index);
            base_programs.push(BaseProgram {
                base_id: base.id,
                program_id: programs[program].id,
            });
        }
    }
    let cycle = Cycle {
        id: CycleId::generate(),
        name: "Bench 2027".into(),
        applications_open_at: now - TimeDelta::days(60),
        applications_close_at: now - TimeDelta::days(30),
        max_preferences: i32::try_from(PREFERENCES)?,
        starts_on: Utc::now().date_naive(),
        ends_on: Utc::now().date_naive() + TimeDelta::days(60),
        row_input_changes: 0,
        published_run_id: None,
        created_at: now,
        updated_at: now,
    };
    let mut students = Vec::with_capacity(placement_count);
    let mut applications = Vec::with_capacity(placement_count);
    let mut preferences = Vec::with_capacity(placement_count * (PREFERENCES + 1) / 2);
    let mut placements = Vec::with_capacity(placement_count);
    let mut live_at = vec![0i32; BASES];
    for index in 0..placement_count {
        let program = rng.gen_range(0..programs.len());
        let student = Student {
            id: StudentId::generate(),
            university_id: universities[index % universities.len()].id,
            student_number: format!("S{index:07}"),
            name: format!("学生{index}"),
            email: format!("s{index}@students.bench"),
            program_id: programs[program].id,
            cohort_year: 2027,
            score: Some(rng.gen_range(60.0..100.0)),
            created_at: now,
            updated_at: now,
        };
        let application = ApplicationRow {
            id: ApplicationId::generate(),
            cycle_id: cycle.id,
            student_id: student.id,
            submitted_at: now,
            updated_at: now,
            university_id: student.university_id,
            program_id: student.program_id,
        };
        let listed = rng.gen_range(1..=PREFERENCES);
        let chosen: Vec<usize> = open_to[program]
            .choose_multiple(&mut rng, listed)
            .copied()
            .collect();
        for (position, &base) in chosen.iter().enumerate() {
            preferences.push(PreferenceRow {
                application_id: application.id,
                position: i32::try_from(position + 1)?,
                base_id: bases[base].id,
            });
        }
        let placed_at = chosen[rng.gen_range(0..chosen.len())];
        let status = STATUS_MIX[status_mix.sample(&mut rng)].0;
        if status.holds_seat() {
            live_at[placed_at] += 1;
        }
        placements.push(PlacementRow {
            id: PlacementId::generate(),
            cycle_id: cycle.id,
            student_id: student.id,
            base_id: bases[placed_at].id,
            status,
            source: PlacementSource::Match,
            run_id: None,
            decline_reason: (status == PlacementStatus::Declined).then(|| "名额已满".to_owned()),
            created_at: now,
            updated_at: now,
            university_id: student.university_id,
            program_id: student.program_id,
        });
        students.push(student);
        applications.push(application);
    }
    // Every base has room for the placements holding its seats, and some to spare.
    let seats: Vec<CycleSeats> = bases
        .iter()
        .zip(&live_at)
        .map(|(base, &live)| CycleSeats {
            cycle_id: cycle.id,
            base_id: base.id,
            seats: live + rng.gen_range(0..20),
            taken: live,
            updated_at: now,
        })
        .collect();

    let mut conn = db.writer()?;
    write_transaction(&mut conn, |conn: &mut DbConn| -> anyhow::Result<()> {
        for chunk in universities.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(universities::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in programs.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(programs::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in bases.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(bases::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in base_programs.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(base_programs::table)
                .values(chunk)
                .execute(c))?;
        }
        dispatch!(conn, |c| diesel::insert_into(cycles::table)
            .values(&cycle)
            .execute(c))?;
        for chunk in seats.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(cycle_seats::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in students.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(students::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in applications.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(applications::table)
                .values(chunk)
                .execute(c))?;
        }
        for chunk in preferences.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(
                application_preferences::table
            )
            .values(chunk)
            .execute(c))?;
        }
        for chunk in placements.chunks(BATCH) {
            dispatch!(conn, |c| diesel::insert_into(placements::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok(())
    })?;
    Ok(Seeded {
        cycle_id: cycle.id,
        listings: preferences.len(),
    })
}
