//! Password hashing with argon2id, in memory that is set aside once.
//!
//! Every argon2 run needs a block of memory (19 MiB with the default parameters). Password
//! work in the server runs on a fixed set of hashing threads, each of which keeps one
//! [`Hasher`] and so one block for its whole life: the server's hashing memory is the
//! number of hashing threads times one block, however many sign-ins arrive and whichever
//! worker serves them. Nothing is allocated and freed per check, so no allocator arena is
//! left holding a block it once served.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::distributions::Alphanumeric;
use rand::Rng;

/// The longest salt a stored hash may carry (the PHC string format's limit).
const MAX_SALT_LEN: usize = 64;

/// Argon2 with its working memory, reused by every hash and check it makes.
pub struct Hasher {
    memory: Vec<Block>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// A hasher with memory for the default parameters, which every hash placemat makes
    /// uses.
    pub fn new() -> Self {
        Self {
            memory: vec![Block::default(); Params::default().block_count()],
        }
    }

    /// The working memory for these parameters: the hasher's own block, grown only for a
    /// stored hash made with more memory than the defaults.
    fn memory_for(&mut self, params: &Params) -> &mut [Block] {
        let blocks = params.block_count();
        if self.memory.len() < blocks {
            self.memory.resize(blocks, Block::default());
        }
        &mut self.memory[..blocks]
    }

    /// Hashes a password with argon2id, the default parameters and a fresh salt, as a PHC
    /// string.
    pub fn hash(&mut self, password: &str) -> anyhow::Result<String> {
        let failed = |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot hash password: {e}");
        let params = Params::default();
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; MAX_SALT_LEN];
        let raw_salt = salt
            .as_salt()
            .decode_b64(&mut salt_bytes)
            .map_err(|e| failed(&e))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                raw_salt,
                &mut out,
                self.memory_for(&params),
            )
            .map_err(|e| failed(&e))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
        };
        Ok(hash.to_string())
    }

    /// Whether the password matches the stored PHC string; a string that does not parse
    /// matches nothing.
    pub fn verify(&mut self, password: &str, stored_hash: &str) -> bool {
        self.recompute(password, stored_hash).unwrap_or(false)
    }

    fn recompute(&mut self, password: &str, stored_hash: &str) -> Option<bool> {
        let parsed = PasswordHash::new(stored_hash).ok()?;
        let expected = parsed.hash?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(number) => Version::try_from(number).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let mut salt_bytes = [0u8; MAX_SALT_LEN];
        let raw_salt = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out.get_mut(..expected.len())?;
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                raw_salt,
                out,
                self.memory_for(&params),
            )
            .ok()?;
        // Output's equality is constant-time.
        Some(Output::new(out).ok()? == expected)
    }

    /// Checks a login: with no stored hash (an unknown email, or an account that has not
    /// yet chosen its password) it still runs one verification and answers no, so that each
    /// of these takes the same time as a wrong password.
    pub fn verify_login(&mut self, password: &str, stored_hash: Option<&str>) -> bool {
        static STAND_IN: OnceLock<Option<String>> = OnceLock::new();
        match stored_hash {
            Some(stored) => self.verify(password, stored),
            None => {
                let stand_in = STAND_IN.get_or_init(|| self.hash("placemat-stand-in").ok());
                if let Some(stand_in) = stand_in {
                    self.verify(password, stand_in);
                }
                false
            }
        }
    }
}

/// Hashes one password outside the server (the command line, the demo data), with memory
/// of its own.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Hasher::new().hash(password)
}

/// A random password for accounts created without one.
pub fn generate() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

/// How long a hashing job waits for a turn before the request is turned away.
const HASHING_WAIT: Duration = Duration::from_secs(30);

/// The most hashing jobs that may wait for a turn at once; past it a request is turned away
/// at once rather than holding a connection open. A waiting job holds no hashing memory, so
/// the queue is sized for a class signing in together, not for the memory bound.
const HASHING_QUEUE: usize = 256;

type Job = Box<dyn FnOnce(&mut Hasher) + Send>;

/// The hashing threads (half the cores, at least one, at most four), each with its own
/// [`Hasher`], and the turns that keep at most one job per thread under way.
struct HashingPool {
    turns: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// The number of hashing threads, and so of argon2 memory blocks the server holds.
pub fn hashing_threads() -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    (cores / 2).clamp(1, 4)
}

fn hashing_pool() -> &'static HashingPool {
    static POOL: OnceLock<HashingPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = hashing_threads();
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for number in 0..threads {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("password-{number}"))
                .spawn(move || {
                    let mut hasher = Hasher::new();
                    loop {
                        let next = match receiver.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(&mut hasher),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        HashingPool {
            turns: tokio::sync::Semaphore::new(threads),
            waiting: AtomicUsize::new(0),
            jobs: Mutex::new(sender),
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

/// Runs password work (hashing, verifying) on one of the hashing threads, with that
/// thread's [`Hasher`], off the async threads.
pub async fn bounded<T, F>(work: F) -> Result<T, HashingError>
where
    F: FnOnce(&mut Hasher) -> T + Send + 'static,
    T: Send + 'static,
{
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
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |hasher| {
        // The caller may have gone; its answer then has nobody to go to.
        let _ = answer.send(work(hasher));
    });
    pool.jobs
        .lock()
        .map_err(|e| HashingError::Failed(e.to_string()))?
        .send(job)
        .map_err(|_| HashingError::Failed("the hashing threads have stopped".into()))?;
    answered
        .await
        .map_err(|_| HashingError::Failed("the password check did not finish".into()))
}

impl From<HashingError> for crate::domain::DomainError {
    fn from(error: HashingError) -> Self {
        match error {
            HashingError::Busy => crate::domain::DomainError::Unavailable(error.into()),
            HashingError::Failed(_) => crate::domain::DomainError::Internal(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let mut hasher = Hasher::new();
        let stored = hasher.hash("correct horse").unwrap();
        assert!(hasher.verify("correct horse", &stored));
        assert!(!hasher.verify("wrong horse", &stored));
        assert!(!hasher.verify("correct horse", "not a hash"));
    }

    #[test]
    fn hashes_made_by_the_argon2_defaults_verify_and_the_other_way_round() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::default()
            .hash_password(b"a password", &salt)
            .unwrap()
            .to_string();
        let mut hasher = Hasher::new();
        assert!(hasher.verify("a password", &stored));
        let ours = hasher.hash("a password").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"a password", &parsed)
            .is_ok());
    }

    #[test]
    fn a_hash_with_more_memory_than_the_defaults_still_verifies() {
        use argon2::password_hash::PasswordHasher;
        let params = Params::new(32 * 1024, 2, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"a password", &salt)
            .unwrap()
            .to_string();
        assert!(Hasher::new().verify("a password", &stored));
    }

    #[test]
    fn an_unknown_account_is_refused_after_a_check() {
        assert!(!Hasher::new().verify_login("anything", None));
    }
}
