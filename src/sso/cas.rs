//! The client side of CAS 3.0: the browser is sent to the server's `/login` with placemat's
//! service URL, and comes back with a ticket, which placemat validates once at
//! `/p3/serviceValidate`. The service URL is always the configured one (placemat's public
//! URL), never one read from the request.

use super::{http_client, provider_url, Identity, SsoError};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// A CAS server, as one provider entry names it.
pub struct Cas {
    /// The server's base URL, without a trailing slash (`https://cas.example.edu.cn/cas`).
    base: String,
    /// placemat's callback for this provider: the CAS `service`.
    service: String,
    client: reqwest::Client,
}

impl Cas {
    pub fn new(base: &str, service: String, timeout: Duration) -> anyhow::Result<Self> {
        let base = provider_url(base, "url")?.to_string();
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            service,
            client: http_client(timeout)?,
        })
    }

    /// Where the browser signs in.
    pub fn login_url(&self) -> String {
        with_query(&self.base, "/login", "service", &self.service)
    }

    /// Where the browser signs out of the CAS server too, coming back to placemat's sign-in
    /// page.
    pub fn logout_url(&self, back_to: &str) -> String {
        with_query(&self.base, "/logout", "service", back_to)
    }

    /// Asks the server who the ticket belongs to, and their email attribute.
    pub async fn validate(&self, ticket: &str) -> Result<Identity, SsoError> {
        let url = format!("{}/p3/serviceValidate", self.base);
        let response = self
            .client
            .get(url)
            .query(&[("service", self.service.as_str()), ("ticket", ticket)])
            .send()
            .await
            .map_err(|e| SsoError::Unreachable(format!("CAS validation: {}", without_url(e))))?;
        if !response.status().is_success() {
            return Err(SsoError::Unreachable(format!(
                "CAS validation answered {}",
                response.status()
            )));
        }
        let body = response
            .text()
            .await
            .map_err(|e| SsoError::Unreachable(format!("CAS validation: {}", without_url(e))))?;
        read_answer(&body)
    }
}

/// The `serviceResponse` document of `/p3/serviceValidate`.
#[derive(Deserialize)]
struct ServiceResponse {
    #[serde(rename = "authenticationSuccess")]
    success: Option<Success>,
    #[serde(rename = "authenticationFailure")]
    failure: Option<Failure>,
}

#[derive(Deserialize)]
struct Success {
    user: String,
    /// CAS 3.0's form: `<cas:attributes><cas:email>…</cas:email></cas:attributes>`.
    #[serde(default)]
    attributes: Option<HashMap<String, String>>,
    /// The older form, still sent by many servers: `<cas:attribute name="…" value="…"/>`.
    #[serde(default, rename = "attribute")]
    attribute: Vec<NamedAttribute>,
}

#[derive(Deserialize)]
struct NamedAttribute {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@value")]
    value: String,
}

#[derive(Deserialize)]
struct Failure {
    #[serde(rename = "@code")]
    code: String,
}

/// The attributes that carry a person's email, as CAS servers name them.
const EMAIL_ATTRIBUTES: [&str; 2] = ["email", "mail"];

/// Reads the validation's answer: the user and the email attribute, or why not.
fn read_answer(body: &str) -> Result<Identity, SsoError> {
    let answer: ServiceResponse = quick_xml::de::from_str(body)
        .map_err(|e| SsoError::Unreachable(format!("CAS answered something unreadable: {e}")))?;
    if let Some(failure) = answer.failure {
        return Err(SsoError::Refused(format!(
            "CAS refused the ticket ({})",
            failure.code.trim()
        )));
    }
    let success = answer
        .success
        .ok_or_else(|| SsoError::Unreachable("CAS answered neither success nor failure".into()))?;
    let user = success.user.trim().to_owned();
    if user.is_empty() {
        return Err(SsoError::Unreachable("CAS named no user".into()));
    }
    let from_elements = success.attributes.as_ref().and_then(|attributes| {
        EMAIL_ATTRIBUTES
            .iter()
            .find_map(|name| attributes.get(*name))
            .cloned()
    });
    let from_named = || {
        EMAIL_ATTRIBUTES.iter().find_map(|name| {
            success
                .attribute
                .iter()
                .find(|a| a.name == *name)
                .map(|a| a.value.clone())
        })
    };
    let email = from_elements
        .or_else(from_named)
        .map(|email| email.trim().to_owned())
        .filter(|email| !email.is_empty());
    Ok(Identity { user, email })
}

/// The error without the URL reqwest puts in its message (it carries the ticket).
fn without_url(error: reqwest::Error) -> String {
    error.without_url().to_string()
}

/// `base` + `path` with one query parameter.
fn with_query(base: &str, path: &str, name: &str, value: &str) -> String {
    match reqwest::Url::parse(&format!("{base}{path}")) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair(name, value);
            url.to_string()
        }
        // `base` was checked as a URL when the provider file was read.
        Err(_) => format!("{base}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_attributes_are_read() {
        let elements = r#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
            <cas:authenticationSuccess>
              <cas:user>2026001</cas:user>
              <cas:attributes>
                <cas:first_name></cas:first_name>
                <cas:email>li.hua@usst.edu.cn</cas:email>
              </cas:attributes>
            </cas:authenticationSuccess></cas:serviceResponse>"#;
        let named = r#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
            <cas:authenticationSuccess>
              <cas:user>2026001</cas:user>
              <cas:attribute name="first_name" value=""/>
              <cas:attribute name="mail" value="li.hua@usst.edu.cn"/>
            </cas:authenticationSuccess></cas:serviceResponse>"#;
        for body in [elements, named] {
            assert_eq!(
                read_answer(body).unwrap(),
                Identity {
                    user: "2026001".into(),
                    email: Some("li.hua@usst.edu.cn".into())
                }
            );
        }
    }

    #[test]
    fn a_refused_ticket_and_nonsense_are_told_apart() {
        let refused = r#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
            <cas:authenticationFailure code="INVALID_TICKET">ticket not found</cas:authenticationFailure>
            </cas:serviceResponse>"#;
        assert!(matches!(read_answer(refused), Err(SsoError::Refused(_))));
        assert!(matches!(
            read_answer("<html>"),
            Err(SsoError::Unreachable(_))
        ));
        assert!(matches!(
            read_answer("<cas:serviceResponse xmlns:cas=\"x\"/>"),
            Err(SsoError::Unreachable(_))
        ));
    }
}
