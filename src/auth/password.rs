use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::Alphanumeric;
use rand::Rng;

/// Hashes a password with argon2id and a fresh salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

/// Whether the password matches the stored hash.
pub fn verify(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password for accounts created without one.
pub fn generate() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

/// Checks a login: with no stored hash (an unknown email, or an account that has not yet
/// chosen its password) it still runs one verification and answers no, so that each of
/// these takes the same time as a wrong password.
pub fn verify_login(password: &str, stored_hash: Option<&str>) -> bool {
    static STAND_IN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    match stored_hash {
        Some(stored) => verify(password, stored),
        None => {
            if let Some(stand_in) = STAND_IN.get_or_init(|| hash("placemat-stand-in").ok()) {
                verify(password, stand_in);
            }
            false
        }
    }
}

/// How long a hashing job waits for a turn before the request is turned away.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The most hashing jobs that may wait for a turn at once; past it a request is turned away
/// at once rather than holding a connection open. A waiting job holds no hashing memory, so
/// the queue is sized for a class signing in together, not for the memory bound.
const HASHING_QUEUE: usize = 256;

/// Each argon2 run takes about 19 MiB: the hashing pool runs a few at a time (half the
/// cores, at least one, at most four), so that a flood of logins queues instead of
/// exhausting memory.
struct HashingPool {
    turns: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

fn hashing_pool() -> &'static HashingPool {
    static POOL: std::sync::OnceLock<HashingPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        HashingPool {
            turns: tokio::sync::Semaphore::new((cores / 2).clamp(1, 4)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    })
}

/// The hashing pool had no turn to give in time.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("password checks are busy, try again shortly")]
    Busy,
    #[error("password check failed: {0}")]
    Failed(String),
}

/// Runs password work (hashing, verifying) in the bounded hashing pool, off the async
/// threads.
pub async fn bounded<T, F>(work: F) -> Result<T, HashingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    use std::sync::atomic::Ordering;
    let pool = hashing_pool();
    if pool.waiting.fetch_add(1, Ordering::SeqCst) >= HASHING_QUEUE {
        pool.waiting.fetch_sub(1, Ordering::SeqCst);
        return Err(HashingError::Busy);
    }
    let turn = tokio::time::timeout(HASHING_WAIT, pool.turns.acquire()).await;
    pool.waiting.fetch_sub(1, Ordering::SeqCst);
    let _turn = match turn {
        Ok(Ok(turn)) => turn,
        Ok(Err(_)) | Err(_) => return Err(HashingError::Busy),
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| HashingError::Failed(e.to_string()))
}

impl From<HashingError> for crate::domain::DomainError {
    fn from(error: HashingError) -> Self {
        match error {
            HashingError::Busy => crate::domain::DomainError::Unavailable(error.into()),
            HashingError::Failed(_) => crate::domain::DomainError::Internal(error.into()),
        }
    }
}
