//! The `placemat` command line.

use crate::auth::password;
use crate::config::Config;
use crate::db::models::User;
use crate::db::schema::{bases, users};
use crate::db::Database;
use crate::dispatch;
use crate::domain::validate::normalise_email;
use crate::domain::Timestamp;
use crate::domain::{BaseId, Role, UniversityId, UserId};
use crate::startup::Application;
use crate::telemetry;
use anyhow::Context;
use clap::{Parser, Subcommand};
use diesel::prelude::*;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "placemat",
    version,
    about = "Internship placement service of the university alliance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve the API and the email worker.
    Serve {
        /// Address to listen on (overrides PLACEMAT_BIND).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply migrations and exit.
    Migrate,
    /// Load data.
    Seed {
        /// The demo alliance: 6 universities, 8 programs, 300 bases, a cycle, 6,000 students.
        #[arg(long, required = true)]
        demo: bool,
    },
    /// Match an instance file offline (see docs/matching.md for the format).
    Match {
        /// The instance: students with ranked preferences, bases with capacities and rankings.
        #[arg(long)]
        input: std::path::PathBuf,
        /// Where to write the result (default: standard output).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Copy the SQLite database (and its documents folder) while it serves.
    Backup {
        /// Where the copy goes; an existing file is never overwritten.
        #[arg(long)]
        output: std::path::PathBuf,
    },
    /// Put a backup in place of the SQLite database, with no server running on it.
    Restore {
        /// The backup to restore.
        #[arg(long)]
        input: std::path::PathBuf,
    },
    /// Check a match run's bundle offline: digests, capacity, lists, stability, the
    /// engine's result from the instance and seed (see docs/matching.md).
    Verify {
        /// The bundle, as `GET /api/v1/match-runs/{id}/bundle` gives it.
        #[arg(long)]
        bundle: std::path::PathBuf,
    },
    /// Manage logins.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a login for an administrator or a base coordinator.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// University code (`USST`) or id, for a university admin.
        #[arg(long)]
        university: Option<String>,
        /// Base id, for a base coordinator.
        #[arg(long)]
        base: Option<BaseId>,
    },
}

/// Runs the command line; errors are printed with their causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.is::<crate::backup::UsePgDump>() {
                return ExitCode::from(2);
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Match { input, output } = &cli.command {
        // The command's errors name their cause in their own message.
        let report = crate::matching::run_command(input, output.as_deref())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!("{report}");
        return Ok(());
    }
    if let Command::Verify { bundle } = &cli.command {
        let verified = crate::matching::verify_file(bundle)
            .map_err(|fault| anyhow::anyhow!("not verified: {fault}"))?;
        println!("verified");
        eprintln!("{verified}");
        return Ok(());
    }
    let mut config = Config::from_env()?;
    match cli.command {
        Command::Match { .. } | Command::Verify { .. } => Ok(()),
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            serve(config)
        }
        Command::Backup { output } => {
            println!("{}", crate::backup::backup(&config, &output)?);
            Ok(())
        }
        Command::Restore { input } => {
            println!("{}", crate::backup::restore(&config, &input)?);
            Ok(())
        }
        Command::Migrate => {
            let db = Database::connect(&config.database_url, 2)?;
            db.migrate()?;
            println!("migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Command::Seed { .. } => {
            let db = Database::connect(&config.database_url, 2)?;
            db.migrate()?;
            let report = crate::seed::demo(&db)?;
            println!("{report}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    role,
                    email,
                    password,
                    university,
                    base,
                },
        } => {
            let db = Database::connect(&config.database_url, 2)?;
            db.migrate()?;
            let id = create_user(&db, role, &email, &password, university.as_deref(), base)?;
            println!("created {role} {} ({id})", normalise_email(&email));
            Ok(())
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let _guard = runtime.enter();
    actix_web::rt::System::new().block_on(async move {
        let bind = config.bind.clone();
        let database = redact(&config.database_url);
        let app = Application::bind(config)?;
        tracing::info!(%bind, port = app.port(), %database, "placemat serving");
        app.serve_until_signalled().await?;
        tracing::info!("placemat stopped");
        Ok(())
    })
}

/// The database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Creates an administrator or coordinator login.
pub fn create_user(
    db: &Database,
    role: Role,
    email: &str,
    password_text: &str,
    university: Option<&str>,
    base: Option<BaseId>,
) -> anyhow::Result<UserId> {
    let email = normalise_email(email);
    if !validator::ValidateEmail::validate_email(&email) {
        anyhow::bail!("--email must be an email address");
    }
    crate::domain::validate::password(password_text)
        .map_err(|_| anyhow::anyhow!("--password must have at least 8 characters"))?;
    if role == Role::Student {
        anyhow::bail!(
            "students get their login when their university adds them (POST /api/v1/students)"
        );
    }
    let hash = password::hash(password_text)?;
    db.write_blocking(|conn| -> anyhow::Result<UserId> {
        let university_id: Option<UniversityId> = match (role, university) {
            (Role::UniversityAdmin, Some(reference)) => Some(
                crate::db::lookup::university_by_ref(conn, reference)?
                    .with_context(|| format!("no university `{reference}`"))?
                    .id,
            ),
            (Role::UniversityAdmin, None) => anyhow::bail!("a university admin needs --university"),
            _ => None,
        };
        let base_id = match (role, base) {
            (Role::BaseCoordinator, Some(id)) => {
                let found: i64 = dispatch!(conn, |c| bases::table.find(id).count().get_result(c))?;
                if found == 0 {
                    anyhow::bail!("no base {id}");
                }
                Some(id)
            }
            (Role::BaseCoordinator, None) => anyhow::bail!("a base coordinator needs --base"),
            _ => None,
        };
        let taken: i64 = dispatch!(conn, |c| users::table
            .filter(users::email.eq(&email))
            .count()
            .get_result(c))?;
        if taken > 0 {
            anyhow::bail!("a login for {email} exists");
        }
        let user = User {
            id: UserId::generate(),
            email: email.clone(),
            password_hash: Some(hash),
            role,
            university_id,
            base_id,
            student_id: None,
            created_at: Timestamp::now(),
        };
        dispatch!(conn, |c| diesel::insert_into(users::table)
            .values(&user)
            .execute(c))?;
        Ok(user.id)
    })
}
