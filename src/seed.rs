//! The demo alliance: the six member universities, the eight engineering programs, 300
//! bases across the Yangtze River Delta, one open cycle and 6,000 students who applied.

use crate::auth::password;
use crate::db::models::*;
use crate::db::schema::*;
use crate::db::{with_page_cache, Database, DbConn};
use crate::dispatch;
use crate::domain::*;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

pub const UNIVERSITIES: [(&str, &str); 6] = [
    ("NJTECH", "Nanjing Tech University"),
    ("ZJUT", "Zhejiang University of Technology"),
    ("USST", "University of Shanghai for Science and Technology"),
    ("UJS", "Jiangsu University"),
    ("AHUT", "Anhui University of Technology"),
    ("AUST", "Anhui University of Science and Technology"),
];

pub const PROGRAMS: [(&str, &str); 8] = [
    ("0854", "Electronic Information"),
    ("0855", "Mechanical Engineering"),
    ("0856", "Materials and Chemical Engineering"),
    ("0857", "Resources and Environment"),
    ("0858", "Energy and Power"),
    ("0859", "Civil Engineering and Water Conservancy"),
    ("0860", "Biology and Medicine"),
    ("0861", "Transportation"),
];

const CITIES: [&str; 12] = [
    "Shanghai",
    "Nanjing",
    "Hangzhou",
    "Suzhou",
    "Wuxi",
    "Changzhou",
    "Zhenjiang",
    "Hefei",
    "Ma'anshan",
    "Huainan",
    "Ningbo",
    "Wuhu",
];

const KINDS: [&str; 6] = [
    "Research Institute",
    "Manufacturing Co., Ltd.",
    "Engineering Centre",
    "Technology Park",
    "Hospital Laboratory",
    "Design Institute",
];

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: [&str; 20] = [
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超",
    "秀英", "华", "平", "鑫", "婷",
];

pub const DEMO_ADMIN_EMAIL: &str = "admin@placemat.example";
pub const DEMO_PASSWORD: &str = "placemat-demo";
const CYCLE_NAME: &str = "2027 summer";

/// How many students and bases a demo alliance has.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub students: usize,
    pub bases: usize,
}

impl Size {
    /// The alliance placemat serves: 6,000 students, 300 bases.
    pub const DEMO: Size = Size {
        students: 6000,
        bases: 300,
    };

    /// `times` alliances' worth of students and bases, for benchmarks at scale.
    pub fn times(times: usize) -> Size {
        Size {
            students: Self::DEMO.students * times,
            bases: Self::DEMO.bases * times,
        }
    }
}

/// Loads the demo data once; a second run finds it and changes nothing.
pub fn demo(db: &Database) -> anyhow::Result<String> {
    demo_of_size(db, Size::DEMO)
}

/// Loads a demo alliance of the given size once, as [`demo`] does.
pub fn demo_of_size(db: &Database, size: Size) -> anyhow::Result<String> {
    let mut conn = db.reader()?;
    let present: i64 = dispatch!(&mut conn, |c| users::table
        .filter(users::email.eq(DEMO_ADMIN_EMAIL))
        .count()
        .get_result(c))?;
    if present > 0 {
        let logins = demo_logins(&mut conn)?;
        return Ok(format!(
            "demo data already loaded; nothing changed\n{logins}"
        ));
    }
    let hash = password::hash(DEMO_PASSWORD)?;
    let started = std::time::Instant::now();
    db.write_blocking(|conn| load(conn, &hash, size))?;
    let logins = demo_logins(&mut conn)?;
    Ok(format!(
        "demo data loaded in {:.1} s: {} universities, {} programs, {} bases, cycle \"{CYCLE_NAME}\", {} students with applications\n{logins}",
        started.elapsed().as_secs_f64(),
        UNIVERSITIES.len(),
        PROGRAMS.len(),
        size.bases,
        size.students
    ))
}

fn demo_logins(conn: &mut DbConn) -> anyhow::Result<String> {
    let rows: Vec<(String, String)> = dispatch!(conn, |c| users::table
        .filter(users::email.like("%@placemat.example"))
        .select((users::role, users::email))
        .order(users::role)
        .load(c))?;
    let mut text = format!("demo logins (password `{DEMO_PASSWORD}` for every one):");
    for (role, email) in rows {
        text.push_str(&format!("\n  {role:<17} {email}"));
    }
    Ok(text)
}

fn load(conn: &mut DbConn, hash: &str, size: Size) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(2027);
    let now = Timestamp::now();
    let joined = NaiveDate::from_ymd_opt(2024, 9, 1).unwrap_or_default();
    let universities_rows: Vec<University> = UNIVERSITIES
        .iter()
        .map(|(code, name)| University {
            id: UniversityId::generate(),
            code: (*code).into(),
            name: (*name).into(),
            joined_on: joined,
            created_at: now,
        })
        .collect();
    let programs_rows: Vec<Program> = PROGRAMS
        .iter()
        .map(|(code, name)| Program {
            id: ProgramId::generate(),
            code: (*code).into(),
            name: (*name).into(),
            created_at: now,
        })
        .collect();
    let mut bases_rows = Vec::with_capacity(size.bases);
    let mut base_program_rows = Vec::new();
    let mut bases_by_program: Vec<Vec<usize>> = vec![Vec::new(); PROGRAMS.len()];
    for index in 0..size.bases {
        let city = CITIES[index % CITIES.len()];
        let program_count = rng.gen_range(2..=4);
        let mut chosen: Vec<usize> = (0..PROGRAMS.len()).collect();
        chosen.shuffle(&mut rng);
        chosen.truncate(program_count);
        let id = BaseId::generate();
        for &program in &chosen {
            bases_by_program[program].push(index);
            base_program_rows.push(BaseProgram {
                base_id: id,
                program_id: programs_rows[program].id,
            });
        }
        bases_rows.push(Base {
            id,
            name: format!("{city} {} No. {}", KINDS[index % KINDS.len()], index + 1),
            organisation: format!(
                "{city} {} Group",
                ["Yangtze", "Delta", "Eastern", "Huaxia", "Jianghuai"][index % 5]
            ),
            city: city.into(),
            host_university_id: universities_rows[index % universities_rows.len()].id,
            coordinator_email: format!("coordinator{:03}@bases.placemat.example", index + 1),
            coordinator_name: Some(format!("Coordinator {}", index + 1)),
            coordinator_phone: Some(format!("+86 21 5555 {:04}", index + 1)),
            active: true,
            created_at: now,
            updated_at: now,
        });
    }
    let cycle = Cycle {
        id: CycleId::generate(),
        name: CYCLE_NAME.into(),
        applications_open_at: now - Duration::days(7),
        applications_close_at: now + Duration::days(30),
        max_preferences: 5,
        starts_on: NaiveDate::from_ymd_opt(2027, 7, 1).unwrap_or_default(),
        ends_on: NaiveDate::from_ymd_opt(2027, 8, 31).unwrap_or_default(),
        row_input_changes: 0,
        published_run_id: None,
        created_at: now,
        updated_at: now,
    };
    let seats_rows: Vec<CycleSeats> = bases_rows
        .iter()
        .map(|base| CycleSeats {
            cycle_id: cycle.id,
            base_id: base.id,
            seats: rng.gen_range(10..=35),
            taken: 0,
            updated_at: now,
        })
        .collect();
    let mut students_rows = Vec::with_capacity(size.students);
    let mut users_rows = Vec::with_capacity(size.students + 8);
    let mut applications_rows = Vec::with_capacity(size.students);
    let mut preference_rows = Vec::new();
    for index in 0..size.students {
        let university = &universities_rows[index % universities_rows.len()];
        let program = rng.gen_range(0..PROGRAMS.len());
        let id = StudentId::generate();
        let email = format!("s{:05}@students.placemat.example", index + 1);
        let name = format!(
            "{}{}",
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
            GIVEN[rng.gen_range(0..GIVEN.len())]
        );
        students_rows.push(Student {
            id,
            university_id: university.id,
            student_number: format!("{}{:06}", 2025, index + 1),
            name,
            email: email.clone(),
            program_id: programs_rows[program].id,
            cohort_year: 2025,
            score: Some(f64::from(rng.gen_range(6000..=9900)) / 100.0),
            created_at: now,
            updated_at: now,
        });
        users_rows.push(User {
            id: UserId::generate(),
            email,
            password_hash: Some(hash.to_owned()),
            role: Role::Student,
            university_id: Some(university.id),
            base_id: None,
            student_id: Some(id),
            created_at: now,
        });
        let listed = rng.gen_range(1..=5);
        let eligible: Vec<usize> = bases_by_program[program]
            .choose_multiple(&mut rng, listed)
            .copied()
            .collect();
        let application = ApplicationRow {
            id: ApplicationId::generate(),
            cycle_id: cycle.id,
            student_id: id,
            submitted_at: now,
            updated_at: now,
            university_id: university.id,
            program_id: programs_rows[program].id,
        };
        for (position, base) in eligible.iter().enumerate() {
            preference_rows.push(PreferenceRow {
                application_id: application.id,
                position: position as i32 + 1,
                base_id: bases_rows[*base].id,
            });
        }
        applications_rows.push(application);
    }
    let staff = [
        (Role::AllianceAdmin, DEMO_ADMIN_EMAIL.to_owned(), None, None),
        (
            Role::UniversityAdmin,
            "officer.usst@placemat.example".to_owned(),
            Some(universities_rows[2].id),
            None,
        ),
        (
            Role::BaseCoordinator,
            "coordinator@placemat.example".to_owned(),
            None,
            Some(bases_rows[0].id),
        ),
    ];
    for (role, email, university_id, base_id) in staff {
        users_rows.push(User {
            id: UserId::generate(),
            email,
            password_hash: Some(hash.to_owned()),
            role,
            university_id,
            base_id,
            student_id: None,
            created_at: now,
        });
    }
    // One student signs in with a memorable address for the tour in the README.
    if let (Some(student), Some(login)) = (students_rows.get_mut(2), users_rows.get_mut(2)) {
        student.email = "student@placemat.example".into();
        login.email = student.email.clone();
    }

    // A load of ten alliances dirties far more pages than the writer's usual cache holds.
    with_page_cache(conn, |conn| {
        dispatch!(conn, |c| {
            diesel::insert_into(universities::table)
                .values(&universities_rows)
                .execute(c)?;
            diesel::insert_into(programs::table)
                .values(&programs_rows)
                .execute(c)?;
            for chunk in bases_rows.chunks(500) {
                diesel::insert_into(bases::table).values(chunk).execute(c)?;
            }
            for chunk in base_program_rows.chunks(2000) {
                diesel::insert_into(base_programs::table)
                    .values(chunk)
                    .execute(c)?;
            }
            diesel::insert_into(cycles::table)
                .values(&cycle)
                .execute(c)?;
            diesel::insert_into(cycle_seats::table)
                .values(&seats_rows)
                .execute(c)?;
            for chunk in students_rows.chunks(1000) {
                diesel::insert_into(students::table)
                    .values(chunk)
                    .execute(c)?;
            }
            for chunk in users_rows.chunks(1000) {
                diesel::insert_into(users::table).values(chunk).execute(c)?;
            }
            for chunk in applications_rows.chunks(1000) {
                diesel::insert_into(applications::table)
                    .values(chunk)
                    .execute(c)?;
            }
            for chunk in preference_rows.chunks(3000) {
                diesel::insert_into(application_preferences::table)
                    .values(chunk)
                    .execute(c)?;
            }
            Ok::<(), diesel::result::Error>(())
        })
    })?;
    Ok(())
}
