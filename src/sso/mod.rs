//! Sign-in through the member universities' own identity providers (统一身份认证): CAS 3.0
//! and OpenID Connect. The providers are listed in a TOML file (`PLACEMAT_SSO_FILE`), one
//! `[[provider]]` each, checked whole at start: a file with a fault stops `serve` with a
//! message naming the entry.
//!
//! This module speaks the protocols (`cas`, `oidc`) and answers who the provider says the
//! person is ([`Identity`]); which placemat account that is, and the sign-in itself, are
//! the services' (`services::sso`).

pub mod cas;
pub mod oidc;

use crate::domain::{Role, UniversityId};
use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long placemat waits for a provider's answer unless its entry says otherwise.
const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

/// What a provider's user id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matching {
    /// The student number (students); staff are then found by the `email` attribute or claim.
    StudentNumber,
    /// The email address, of students and staff alike.
    Email,
}

/// The protocol a provider speaks, with what placemat needs to speak it.
pub enum Protocol {
    Cas(cas::Cas),
    Oidc(Box<oidc::Oidc>),
}

/// One identity provider of one member university.
pub struct Provider {
    /// The provider's id in the paths `/sso/{id}/…`.
    pub id: String,
    /// The code of the member university whose people sign in here…
    pub university: String,
    /// …and its id.
    pub university_id: UniversityId,
    /// The words of its button on the sign-in page.
    pub name: String,
    pub matching: Matching,
    /// Whether that university's people may still sign in with a placemat password.
    pub password: bool,
    pub protocol: Protocol,
}

/// Who a provider says signed in: the value its entry matches on (`user`), and the email it
/// gave, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub email: Option<String>,
}

/// Why a provider's answer did not sign anybody in.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The answer was refused: a wrong, replayed or forged ticket or code, a bad signature,
    /// nonce or expiry, a wrong `state`.
    #[error("refused: {0}")]
    Refused(String),
    /// The provider could not be reached, answered too slowly or answered nonsense.
    #[error("the identity provider failed: {0}")]
    Unreachable(String),
}

/// The identity providers of the provider file, in its order.
#[derive(Default)]
pub struct Providers {
    entries: Vec<Arc<Provider>>,
}

impl Providers {
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.entries.iter()
    }

    pub fn find(&self, id: &str) -> Option<Arc<Provider>> {
        self.entries.iter().find(|p| p.id == id).cloned()
    }

    /// The provider through which an account of this role and university must sign in,
    /// when its entry says `password = false`: students and placement officers only, since
    /// bases and the alliance always keep their passwords.
    pub fn password_refused(
        &self,
        role: Role,
        university_id: Option<UniversityId>,
    ) -> Option<&Provider> {
        if !matches!(role, Role::Student | Role::UniversityAdmin) {
            return None;
        }
        let university_id = university_id?;
        self.entries
            .iter()
            .find(|p| p.university_id == university_id && !p.password)
            .map(|p| p.as_ref())
    }

    /// Reads and checks the provider file: every entry whole, or an error naming the entry.
    /// `public_url` is where placemat is reached: the callbacks providers return to start
    /// with it. `university` finds a member university's id by its code.
    pub fn load(
        path: &Path,
        public_url: &str,
        university: impl Fn(&str) -> Option<UniversityId>,
    ) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the provider file {}", path.display()))?;
        Self::parse(
            &text,
            public_url,
            |name| std::env::var(name).ok(),
            university,
        )
        .with_context(|| format!("in the provider file {}", path.display()))
    }

    /// Parses the provider file's text; `secret` reads the variables that hold client
    /// secrets, `university` finds a member university's id by its code.
    pub fn parse(
        text: &str,
        public_url: &str,
        secret: impl Fn(&str) -> Option<String>,
        university: impl Fn(&str) -> Option<UniversityId>,
    ) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            provider: Vec<toml::Table>,
        }
        let file: File = toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
        let mut entries: Vec<Arc<Provider>> = Vec::with_capacity(file.provider.len());
        for (number, table) in file.provider.into_iter().enumerate() {
            let named = table
                .get("id")
                .and_then(|id| id.as_str())
                .map(|id| format!("provider `{id}` (entry {})", number + 1))
                .unwrap_or_else(|| format!("provider entry {}", number + 1));
            let entry: Entry = table
                .try_into()
                .map_err(|e: toml::de::Error| anyhow!("{named}: {}", e.message()))?;
            if entries.iter().any(|p| p.id == entry.id) {
                bail!("{named}: another provider has the same id");
            }
            let provider = entry
                .build(public_url, &secret, &university)
                .map_err(|e| anyhow!("{named}: {e}"))?;
            entries.push(Arc::new(provider));
        }
        Ok(Self { entries })
    }
}

/// One `[[provider]]` of the file, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    university: String,
    name: String,
    kind: Kind,
    #[serde(rename = "match")]
    matching: Matching,
    /// CAS: the server's base URL (`…/cas`).
    url: Option<String>,
    /// OpenID Connect: the issuer, its client id, the variable holding its client secret, and
    /// the ID token claim that names the account.
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret_env: Option<String>,
    claim: Option<String>,
    #[serde(default = "allowed")]
    password: bool,
    timeout_seconds: Option<u64>,
}

fn allowed() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Cas,
    Oidc,
}

impl Entry {
    fn build(
        self,
        public_url: &str,
        secret: &impl Fn(&str) -> Option<String>,
        university: &impl Fn(&str) -> Option<UniversityId>,
    ) -> anyhow::Result<Provider> {
        let university_id = university(&self.university).ok_or_else(|| {
            anyhow!(
                "`university` names {}, which is no member university",
                self.university
            )
        })?;
        let id_is_plain = !self.id.is_empty()
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_is_plain {
            bail!("`id` must be lowercase letters, digits and hyphens");
        }
        if self.name.trim().is_empty() {
            bail!("`name` is empty");
        }
        let timeout = Duration::from_secs(self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS));
        if timeout.is_zero() || timeout > Duration::from_secs(120) {
            bail!("`timeout_seconds` must be 1 to 120");
        }
        let callback = format!(
            "{}/sso/{}/callback",
            public_url.trim_end_matches('/'),
            self.id
        );
        let required = |field: Option<String>, name: &str| {
            field
                .filter(|value| !value.trim().is_empty())
                .ok_or_else(|| {
                    anyhow!(
                        "missing field `{name}` (needed by kind = \"{}\")",
                        self.kind_name()
                    )
                })
        };
        let protocol = match self.kind {
            Kind::Cas => {
                for (given, name) in [
                    (&self.issuer, "issuer"),
                    (&self.client_id, "client_id"),
                    (&self.client_secret_env, "client_secret_env"),
                    (&self.claim, "claim"),
                ] {
                    if given.is_some() {
                        bail!("`{name}` is for kind = \"oidc\", not \"cas\"");
                    }
                }
                let url = required(self.url.clone(), "url")?;
                Protocol::Cas(cas::Cas::new(&url, callback, timeout)?)
            }
            Kind::Oidc => {
                if self.url.is_some() {
                    bail!(
                        "`url` is for kind = \"cas\"; an OpenID Connect provider has an `issuer`"
                    );
                }
                let issuer = required(self.issuer.clone(), "issuer")?;
                let client_id = required(self.client_id.clone(), "client_id")?;
                let variable = required(self.client_secret_env.clone(), "client_secret_env")?;
                let client_secret = secret(&variable)
                    .filter(|value| !value.is_empty())
                    .ok_or_else(|| {
                        anyhow!("`client_secret_env` names {variable}, which is not set")
                    })?;
                let claim = self.claim.clone().unwrap_or_else(|| match self.matching {
                    Matching::Email => "email".into(),
                    Matching::StudentNumber => "student_number".into(),
                });
                Protocol::Oidc(Box::new(oidc::Oidc::new(
                    &issuer,
                    client_id,
                    client_secret,
                    claim,
                    callback,
                    timeout,
                )?))
            }
        };
        Ok(Provider {
            id: self.id,
            university: self.university,
            university_id,
            name: self.name,
            matching: self.matching,
            password: self.password,
            protocol,
        })
    }

    fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Cas => "cas",
            Kind::Oidc => "oidc",
        }
    }
}

/// The HTTP client placemat speaks to a provider with: no redirects followed (a provider's
/// back channel answers directly), and a deadline on every request.
pub(crate) fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .context("cannot build the identity providers' HTTP client")
}

/// Checks a provider URL: absolute, http or https, with a host.
pub(crate) fn provider_url(text: &str, field: &str) -> anyhow::Result<reqwest::Url> {
    let url = reqwest::Url::parse(text.trim_end_matches('/'))
        .map_err(|e| anyhow!("`{field}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("`{field}` must be an http:// or https:// URL with a host");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "https://placemat.example.edu.cn";

    fn university_id(code: &str) -> Option<UniversityId> {
        let number = ["USST", "NJTECH"].iter().position(|known| *known == code)?;
        Some(UniversityId(uuid::Uuid::from_u128(number as u128 + 1)))
    }

    fn parse(text: &str) -> anyhow::Result<Providers> {
        Providers::parse(
            text,
            PUBLIC,
            |name| (name == "NJTECH_SECRET").then(|| "s3cret".to_owned()),
            university_id,
        )
    }

    const BOTH: &str = r#"
        [[provider]]
        id = "usst"
        university = "USST"
        name = "USST 统一身份认证"
        kind = "cas"
        url = "https://cas.usst.edu.cn/cas"
        match = "student_number"

        [[provider]]
        id = "njtech"
        university = "NJTECH"
        name = "NJTECH SSO"
        kind = "oidc"
        issuer = "https://sso.njtech.edu.cn"
        client_id = "placemat"
        client_secret_env = "NJTECH_SECRET"
        match = "email"
        claim = "email"
        password = false
    "#;

    #[test]
    fn a_file_with_a_cas_and_an_oidc_provider_reads_whole() {
        let providers = parse(BOTH).unwrap();
        let ids: Vec<_> = providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["usst", "njtech"]);
        let (usst, njtech) = (university_id("USST"), university_id("NJTECH"));
        assert!(providers.password_refused(Role::Student, usst).is_none());
        let refused = providers.password_refused(Role::Student, njtech);
        assert_eq!(refused.map(|p| p.id.as_str()), Some("njtech"));
        assert!(providers
            .password_refused(Role::UniversityAdmin, njtech)
            .is_some());
        assert!(providers
            .password_refused(Role::BaseCoordinator, njtech)
            .is_none());
    }

    #[test]
    fn each_fault_names_its_entry() {
        let missing_url = BOTH.replace("url = \"https://cas.usst.edu.cn/cas\"", "");
        let error = format!("{:#}", parse(&missing_url).err().unwrap());
        assert!(error.contains("provider `usst` (entry 1)"), "{error}");
        assert!(error.contains("`url`"), "{error}");

        let no_secret = BOTH.replace("NJTECH_SECRET", "NOT_SET_ANYWHERE");
        let error = format!("{:#}", parse(&no_secret).err().unwrap());
        assert!(error.contains("provider `njtech` (entry 2)"), "{error}");
        assert!(error.contains("NOT_SET_ANYWHERE"), "{error}");

        let missing_id = BOTH.replace("id = \"njtech\"", "");
        let error = format!("{:#}", parse(&missing_id).err().unwrap());
        assert!(error.contains("provider entry 2"), "{error}");
        assert!(error.contains("id"), "{error}");

        let unknown_field =
            BOTH.replace("match = \"email\"", "match = \"email\"\ncolour = \"red\"");
        let error = format!("{:#}", parse(&unknown_field).err().unwrap());
        assert!(error.contains("colour"), "{error}");

        let unknown = BOTH.replace("university = \"USST\"", "university = \"MIT\"");
        let error = format!("{:#}", parse(&unknown).err().unwrap());
        assert!(
            error.contains("provider `usst` (entry 1)") && error.contains("MIT"),
            "{error}"
        );

        let twice = BOTH.replace("id = \"njtech\"", "id = \"usst\"");
        let error = format!("{:#}", parse(&twice).err().unwrap());
        assert!(error.contains("same id"), "{error}");
    }
}
