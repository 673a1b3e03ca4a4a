//! The client side of OpenID Connect: the authorization code flow with PKCE, through the
//! `openidconnect` crate. The issuer's discovery document and signing keys are fetched on
//! first use and kept for an hour; the ID token's signature, issuer, audience, expiry and
//! nonce are checked before any claim is read.

use super::{http_client, provider_url, Identity, SsoError};
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a discovery document and its keys are kept before they are fetched again.
const KEEP_METADATA: Duration = Duration::from_secs(3600);

/// An OpenID Connect provider, as one provider entry names it.
pub struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    /// The ID token claim that names the account (`email`, `student_number`, …).
    claim: String,
    redirect: RedirectUrl,
    client: openidconnect::reqwest::Client,
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

/// What placemat keeps between sending the browser to the provider and its return.
pub struct Pending {
    pub authorize_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl Oidc {
    pub fn new(
        issuer: &str,
        client_id: String,
        client_secret: String,
        claim: String,
        redirect: String,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let issuer = provider_url(issuer, "issuer")?;
        Ok(Self {
            issuer: IssuerUrl::new(issuer.as_str().trim_end_matches('/').to_owned())?,
            client_id: ClientId::new(client_id),
            client_secret: ClientSecret::new(client_secret),
            claim,
            redirect: RedirectUrl::new(redirect)?,
            client: http_client(timeout)?,
            metadata: Mutex::new(None),
        })
    }

    /// The issuer's discovery document and keys: the kept ones while fresh, else fetched.
    async fn metadata(&self) -> Result<CoreProviderMetadata, SsoError> {
        let mut kept = self.metadata.lock().await;
        if let Some((fetched, metadata)) = kept.as_ref() {
            if fetched.elapsed() < KEEP_METADATA {
                return Ok(metadata.clone());
            }
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.client)
            .await
            .map_err(|e| SsoError::Unreachable(format!("OpenID Connect discovery: {e}")))?;
        *kept = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// Starts a sign-in: where to send the browser, and the state, nonce and PKCE verifier to
    /// keep until it returns.
    pub async fn start(&self) -> Result<Pending, SsoError> {
        let client = CoreClient::from_provider_metadata(
            self.metadata().await?,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in ["email", "profile"] {
            request = request.add_scope(Scope::new(scope.into()));
        }
        let (url, state, nonce) = request.url();
        Ok(Pending {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier), checks the ID token
    /// against the nonce, and reads who it names.
    pub async fn finish(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, SsoError> {
        let client = CoreClient::from_provider_metadata(
            self.metadata().await?,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone());
        let exchange = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::Unreachable(format!("OpenID Connect token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let tokens = exchange
            .request_async(&self.client)
            .await
            .map_err(token_error)?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SsoError::Refused("the provider sent no ID token".into()))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|e| SsoError::Refused(format!("the ID token was refused: {e}")))?;
        let email = claims.email().map(|email| email.as_str().to_owned());
        // The token's signature and claims were checked above: its payload is the
        // provider's word, and any claim can be read from it by name.
        let user = claim_of(&id_token.to_string(), &self.claim).ok_or_else(|| {
            SsoError::Refused(format!("the ID token has no `{}` claim", self.claim))
        })?;
        Ok(Identity { user, email })
    }

    /// The provider's own sign-out page, where it has one, coming back to `back_to`.
    pub async fn logout_url(&self, back_to: &str) -> Option<String> {
        let metadata = self.metadata().await.ok()?;
        let document = serde_json::to_value(&metadata).ok()?;
        let end = document.get("end_session_endpoint")?.as_str()?;
        let mut url = reqwest::Url::parse(end).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("post_logout_redirect_uri", back_to);
        Some(url.to_string())
    }
}

/// A token endpoint's refusal (a used or wrong code, a wrong verifier) is the provider's
/// word; anything else is a failure to reach it.
fn token_error<RE, T>(error: openidconnect::RequestTokenError<RE, T>) -> SsoError
where
    RE: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
{
    match error {
        openidconnect::RequestTokenError::ServerResponse(answer) => {
            SsoError::Refused(format!("the provider refused the code: {answer}"))
        }
        other => SsoError::Unreachable(format!("OpenID Connect token endpoint: {other}")),
    }
}

/// One claim of a compact JWT's payload, as text.
fn claim_of(jwt: &str, claim: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let value = match claims.get(claim)? {
        serde_json::Value::String(text) => text.trim().to_owned(),
        serde_json::Value::Number(number) => number.to_string(),
        _ => return None,
    };
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_read_from_the_payload_by_name() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"x","student_number":"2026001","year":2026,"roles":["a"]}"#);
        let jwt = format!("header.{payload}.signature");
        assert_eq!(claim_of(&jwt, "student_number").as_deref(), Some("2026001"));
        assert_eq!(claim_of(&jwt, "year").as_deref(), Some("2026"));
        assert_eq!(claim_of(&jwt, "roles"), None);
        assert_eq!(claim_of(&jwt, "email"), None);
        assert_eq!(claim_of("not a token", "sub"), None);
    }
}
