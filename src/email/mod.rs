//! Email: templates, the outbox written in the same transaction as the change it reports,
//! and the worker that delivers it over SMTP (or into `.eml` files) with retries.

pub mod outbox;
pub mod templates;
pub mod transport;
pub mod worker;
