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
