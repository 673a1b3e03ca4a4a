//! Where emails go: an SMTP server when `PLACEMAT_SMTP_URL` is set, `.eml` files otherwise.

use crate::config::{mailbox, Config};
use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::SmtpTransport;
use lettre::{FileTransport, Message, Transport};
use std::path::PathBuf;
use std::time::Duration;

/// An email as the outbox holds it.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub message_id: String,
    pub to: String,
    pub cc: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a delivery failed, and whether trying again can help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// The server refused for good (an SMTP 5xx), or the email itself is malformed.
    pub permanent: bool,
    pub message: String,
}

pub enum Mailer {
    Smtp(SmtpTransport),
    Files(FileTransport, PathBuf),
}

/// The longest one SMTP exchange may take; the worker sizes its claims by it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.smtp_url {
            Some(url) => {
                let transport = SmtpTransport::from_url(url)
                    .with_context(|| {
                        "PLACEMAT_SMTP_URL is not a valid smtp:// or smtps:// URL".to_string()
                    })?
                    .timeout(Some(SEND_TIMEOUT))
                    .build();
                Ok(Mailer::Smtp(transport))
            }
            None => Ok(Mailer::Files(
                FileTransport::new(&config.mail_dir),
                config.mail_dir.clone(),
            )),
        }
    }

    /// Where this mailer delivers, for the log.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP".into(),
            Mailer::Files(_, dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// Delivers one email; blocking.
    pub fn send(&self, from: &Mailbox, envelope: &Envelope) -> Result<(), DeliveryError> {
        let message = build(from, envelope).map_err(|message| DeliveryError {
            permanent: true,
            message,
        })?;
        match self {
            Mailer::Smtp(transport) => {
                transport
                    .send(&message)
                    .map(|_| ())
                    .map_err(|error| DeliveryError {
                        permanent: error.is_permanent(),
                        message: error.to_string(),
                    })
            }
            Mailer::Files(transport, dir) => {
                std::fs::create_dir_all(dir).map_err(|error| DeliveryError {
                    permanent: false,
                    message: format!("cannot create {}: {error}", dir.display()),
                })?;
                transport
                    .send(&message)
                    .map(|_| ())
                    .map_err(|error| DeliveryError {
                        permanent: false,
                        message: error.to_string(),
                    })
            }
        }
    }
}

fn build(from: &Mailbox, envelope: &Envelope) -> Result<Message, String> {
    let mut builder = Message::builder()
        .message_id(Some(envelope.message_id.clone()))
        .from(from.clone())
        .to(mailbox(&envelope.to)?)
        .subject(envelope.subject.clone());
    for cc in &envelope.cc {
        builder = builder.cc(mailbox(cc)?);
    }
    if let Some(reply_to) = &envelope.reply_to {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            envelope.text.clone(),
            envelope.html.clone(),
        ))
        .map_err(|e| format!("cannot build the email: {e}"))
}
