use crate::helpers::fresh_database;
use placemat::db::Database;

#[tokio::test]
async fn every_migration_applies_reverts_and_applies_again() {
    let workdir = tempfile::tempdir().expect("a temporary folder");
    let (url, postgres) = fresh_database(&workdir);
    let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let db = Database::connect(&url, 2)?;
        db.migrate()?;
        db.revert_all()?;
        db.migrate()?;
        db.migrate()
    })
    .await
    .expect("joins");
    if let Some((server, name)) = postgres {
        use diesel::{Connection, RunQueryDsl};
        let mut admin = diesel::PgConnection::establish(&server).expect("connects");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drops");
    }
    outcome.expect("migrations go up, down and up again");
}

#[tokio::test]
async fn a_seeded_sqlite_database_keeps_planner_statistics_for_its_countings() {
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Measured {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tbl: String,
    }
    let workdir = tempfile::tempdir().expect("a temporary folder");
    let path = workdir.path().join("seeded.db");
    let url = format!("sqlite://{}", path.display());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let db = Database::connect(&url, 2)?;
        db.migrate()?;
        placemat::seed::demo(&db)?;
        Ok(())
    })
    .await
    .expect("joins")
    .expect("the demo alliance loads");
    let mut conn = diesel::SqliteConnection::establish(&path.display().to_string()).expect("opens");
    let measured: Vec<String> = diesel::sql_query("SELECT DISTINCT tbl FROM sqlite_stat1")
        .load::<Measured>(&mut conn)
        .expect("statistics were stored")
        .into_iter()
        .map(|row| row.tbl)
        .collect();
    for table in [
        "students",
        "applications",
        "application_preferences",
        "bases",
    ] {
        assert!(
            measured.iter().any(|t| t == table),
            "{table} has planner statistics: {measured:?}"
        );
    }
}
