//! Configuration from the environment (`PLACEMAT_*`).

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://FILE` (default `sqlite://placemat.db`) or `postgres://…`.
    pub database_url: String,
    /// Address to serve on; port 0 picks a free one.
    pub bind: String,
    /// SMTP server for outgoing email; without it emails are written to `mail_dir`.
    pub smtp_url: Option<String>,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    /// How long a login token lives.
    pub token_ttl_minutes: i64,
    /// Database connections per pool.
    pub pool_size: u32,
    /// HTTP worker threads (default: one per core).
    pub workers: usize,
    /// Pause between looks at an empty outbox.
    pub mail_poll_ms: u64,
    /// Wait before the first retry of a failed email; doubled for each further one.
    pub mail_retry_base_ms: i64,
    /// Attempts before an email is marked failed.
    pub mail_max_attempts: i32,
    /// Where people reach placemat: links in emails start with it, and an `https` one
    /// marks the session cookie `Secure`.
    pub public_url: String,
    /// The time zone in which pages show dates and times.
    pub time_zone: chrono_tz::Tz,
    /// How long an invitation or password-reset link works.
    pub invitation_ttl_days: i64,
    /// A browser session ends after this long without a request…
    pub session_idle_minutes: i64,
    /// …and in any case this long after sign-in.
    pub session_max_hours: i64,
    /// The file listing the universities' identity providers (`PLACEMAT_SSO_FILE`).
    pub sso_file: Option<PathBuf>,
    /// After SIGTERM, how long placemat keeps accepting (answering `/readyz` with 503)
    /// before it stops.
    pub shutdown_drain_ms: u64,
    /// Where stored documents are kept: `file://PATH` (a relative path is taken from the
    /// database's folder) or `s3://…`.
    pub files_url: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://placemat.db".into(),
            bind: "127.0.0.1:8080".into(),
            smtp_url: None,
            mail_dir: PathBuf::from("./mail"),
            mail_from: "placemat <placemat@localhost>".into(),
            token_ttl_minutes: 12 * 60,
            pool_size: 16,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            mail_poll_ms: 1000,
            mail_retry_base_ms: 30_000,
            mail_max_attempts: 8,
            public_url: "http://127.0.0.1:8080".into(),
            time_zone: chrono_tz::Asia::Shanghai,
            invitation_ttl_days: 14,
            session_idle_minutes: 120,
            session_max_hours: 12,
            sso_file: None,
            shutdown_drain_ms: 0,
            files_url: "file://./files".into(),
        }
    }
}

impl Config {
    /// Reads the environment over the defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut config = Config::default();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(url) = var("PLACEMAT_DATABASE_URL") {
            config.database_url = url;
        }
        if let Some(bind) = var("PLACEMAT_BIND") {
            config.bind = bind;
        }
        config.smtp_url = var("PLACEMAT_SMTP_URL");
        config.sso_file = var("PLACEMAT_SSO_FILE").map(PathBuf::from);
        if let Some(dir) = var("PLACEMAT_MAIL_DIR") {
            config.mail_dir = PathBuf::from(dir);
        }
        if let Some(from) = var("PLACEMAT_MAIL_FROM") {
            config.mail_from = from;
        }
        if let Some(ttl) = var("PLACEMAT_TOKEN_TTL_MINUTES") {
            config.token_ttl_minutes = ttl.parse().map_err(|_| {
                anyhow::anyhow!("PLACEMAT_TOKEN_TTL_MINUTES must be a whole number")
            })?;
        }
        if let Some(size) = var("PLACEMAT_DB_POOL_SIZE") {
            config.pool_size = size
                .parse()
                .map_err(|_| anyhow::anyhow!("PLACEMAT_DB_POOL_SIZE must be a whole number"))?;
        }
        if let Some(poll) = var("PLACEMAT_MAIL_POLL_MS") {
            config.mail_poll_ms = poll
                .parse()
                .map_err(|_| anyhow::anyhow!("PLACEMAT_MAIL_POLL_MS must be a whole number"))?;
        }
        if let Some(base) = var("PLACEMAT_MAIL_RETRY_BASE_MS") {
            config.mail_retry_base_ms = base.parse().map_err(|_| {
                anyhow::anyhow!("PLACEMAT_MAIL_RETRY_BASE_MS must be a whole number")
            })?;
        }
        if let Some(attempts) = var("PLACEMAT_MAIL_MAX_ATTEMPTS") {
            config.mail_max_attempts = attempts.parse().map_err(|_| {
                anyhow::anyhow!("PLACEMAT_MAIL_MAX_ATTEMPTS must be a whole number")
            })?;
        }
        if let Some(workers) = var("PLACEMAT_WORKERS") {
            config.workers = workers
                .parse()
                .map_err(|_| anyhow::anyhow!("PLACEMAT_WORKERS must be a whole number"))?;
        }
        if let Some(url) = var("PLACEMAT_PUBLIC_URL") {
            config.public_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(zone) = var("PLACEMAT_TIME_ZONE") {
            config.time_zone = zone.parse().map_err(|_| {
                anyhow::anyhow!("PLACEMAT_TIME_ZONE must be a time zone such as Asia/Shanghai")
            })?;
        }
        let whole = |name: &str, value: String| {
            value
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| anyhow::anyhow!("{name} must be a whole number above 0"))
        };
        if let Some(days) = var("PLACEMAT_INVITATION_TTL_DAYS") {
            config.invitation_ttl_days = whole("PLACEMAT_INVITATION_TTL_DAYS", days)?;
        }
        if let Some(minutes) = var("PLACEMAT_SESSION_IDLE_MINUTES") {
            config.session_idle_minutes = whole("PLACEMAT_SESSION_IDLE_MINUTES", minutes)?;
        }
        if let Some(hours) = var("PLACEMAT_SESSION_MAX_HOURS") {
            config.session_max_hours = whole("PLACEMAT_SESSION_MAX_HOURS", hours)?;
        }
        if let Some(url) = var("PLACEMAT_FILES_URL") {
            config.files_url = url;
        }
        if let Some(drain) = var("PLACEMAT_SHUTDOWN_DRAIN_MS") {
            config.shutdown_drain_ms = drain.parse().map_err(|_| {
                anyhow::anyhow!("PLACEMAT_SHUTDOWN_DRAIN_MS must be a whole number")
            })?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Whether people reach placemat over HTTPS, so that cookies must say `Secure`.
    pub fn serves_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Refuses settings that would make the service misbehave later (every token born
    /// expired, a pool that can never hand out a connection, an unparsable server address),
    /// naming the variable to fix.
    pub fn validate(&self) -> anyhow::Result<()> {
        let refuse = |name: &str, rule: &str| Err(anyhow::anyhow!("{name} {rule}"));
        if !(self.database_url.starts_with("sqlite://")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
            || !url_has_rest(&self.database_url)
        {
            return refuse(
                "PLACEMAT_DATABASE_URL",
                "must be sqlite://FILE or postgres://USER@HOST/DATABASE",
            );
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://"))
            || !url_has_rest(&self.public_url)
        {
            return refuse(
                "PLACEMAT_PUBLIC_URL",
                "must be http://HOST[:PORT] or https://HOST[:PORT]",
            );
        }
        if let Some(smtp) = &self.smtp_url {
            if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://"))
                || !url_has_rest(smtp)
                || lettre::SmtpTransport::from_url(smtp).is_err()
            {
                return refuse(
                    "PLACEMAT_SMTP_URL",
                    "must be smtp://HOST[:PORT] or smtps://[USER:PASSWORD@]HOST[:PORT]",
                );
            }
        }
        if mailbox(&self.mail_from).is_err() {
            return refuse(
                "PLACEMAT_MAIL_FROM",
                "must be a mailbox such as `Name <a@b.c>`",
            );
        }
        if !(1..=MAX_TOKEN_TTL_MINUTES).contains(&self.token_ttl_minutes) {
            return refuse(
                "PLACEMAT_TOKEN_TTL_MINUTES",
                "must be between 1 and 525600 (one year)",
            );
        }
        if !(1..=1000).contains(&self.pool_size) {
            return refuse("PLACEMAT_DB_POOL_SIZE", "must be between 1 and 1000");
        }
        if !(1..=1024).contains(&self.workers) {
            return refuse("PLACEMAT_WORKERS", "must be between 1 and 1024");
        }
        if !(1..=3_600_000).contains(&self.mail_poll_ms) {
            return refuse("PLACEMAT_MAIL_POLL_MS", "must be between 1 and 3600000");
        }
        if !(1..=86_400_000).contains(&self.mail_retry_base_ms) {
            return refuse(
                "PLACEMAT_MAIL_RETRY_BASE_MS",
                "must be between 1 and 86400000",
            );
        }
        if !(1..=100).contains(&self.mail_max_attempts) {
            return refuse("PLACEMAT_MAIL_MAX_ATTEMPTS", "must be between 1 and 100");
        }
        if self.shutdown_drain_ms > 5000 {
            return refuse("PLACEMAT_SHUTDOWN_DRAIN_MS", "must be between 0 and 5000");
        }
        Ok(())
    }
}

/// The longest a login token may live: one year.
const MAX_TOKEN_TTL_MINUTES: i64 = 365 * 24 * 60;

/// Whether a URL has something after its scheme.
fn url_has_rest(url: &str) -> bool {
    url.split_once("://")
        .map(|(_, rest)| !rest.trim().is_empty() && !rest.contains(char::is_whitespace))
        .unwrap_or(false)
}

/// Reads `Name <address>` or a bare address.
pub fn mailbox(text: &str) -> Result<lettre::message::Mailbox, String> {
    let text = text.trim();
    let (name, address) = match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => (
            Some(text[..open].trim().to_owned()).filter(|n| !n.is_empty()),
            &text[open + 1..text.len() - 1],
        ),
        _ => (None, text),
    };
    let address: lettre::Address = address
        .parse()
        .map_err(|e| format!("`{text}` is not an email address: {e}"))?;
    Ok(lettre::message::Mailbox::new(name, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(adjust: impl FnOnce(&mut Config)) -> String {
        let mut config = Config::default();
        adjust(&mut config);
        config
            .validate()
            .expect_err("the setting is refused")
            .to_string()
    }

    #[test]
    fn the_defaults_are_valid() {
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn a_bad_setting_is_refused_by_name() {
        assert!(refused(|c| c.token_ttl_minutes = 0).starts_with("PLACEMAT_TOKEN_TTL_MINUTES"));
        assert!(refused(|c| c.token_ttl_minutes = -5).starts_with("PLACEMAT_TOKEN_TTL_MINUTES"));
        assert!(refused(|c| c.pool_size = 0).starts_with("PLACEMAT_DB_POOL_SIZE"));
        assert!(refused(|c| c.workers = 0).starts_with("PLACEMAT_WORKERS"));
        assert!(
            refused(|c| c.database_url = "mysql://x".into()).starts_with("PLACEMAT_DATABASE_URL")
        );
        assert!(
            refused(|c| c.database_url = "sqlite://".into()).starts_with("PLACEMAT_DATABASE_URL")
        );
        assert!(
            refused(|c| c.smtp_url = Some("smtp//nowhere".into())).starts_with("PLACEMAT_SMTP_URL")
        );
        assert!(refused(|c| c.mail_max_attempts = 0).starts_with("PLACEMAT_MAIL_MAX_ATTEMPTS"));
        assert!(refused(|c| c.mail_retry_base_ms = -1).starts_with("PLACEMAT_MAIL_RETRY_BASE_MS"));
        assert!(refused(|c| c.mail_poll_ms = 0).starts_with("PLACEMAT_MAIL_POLL_MS"));
        assert!(refused(|c| c.shutdown_drain_ms = 5001).starts_with("PLACEMAT_SHUTDOWN_DRAIN_MS"));
    }

    #[test]
    fn mailboxes_keep_names_in_any_script() {
        let parsed = mailbox("欧阳娜娜 <nana@students.test>").expect("parses");
        assert_eq!(parsed.name.as_deref(), Some("欧阳娜娜"));
        assert_eq!(parsed.email.to_string(), "nana@students.test");
        assert_eq!(mailbox("plain@students.test").expect("parses").name, None);
        assert!(mailbox("Nobody <not an address>").is_err());
    }
}
