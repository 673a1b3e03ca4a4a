//! Logs (tracing, with a request id on every request) and Prometheus metrics.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use std::borrow::Cow;
use std::io::Write;
use std::time::Instant;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Installs the log subscriber; `RUST_LOG` overrides the default level, and
/// `PLACEMAT_LOG_FORMAT=json` writes one JSON object a line instead of text. In either
/// format every line passes through [`mask`] on its way out.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("PLACEMAT_LOG_FORMAT").is_ok_and(|format| format.trim() == "json");
    if json {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_writer(MaskedStdout)
            .try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_writer(MaskedStdout)
            .try_init();
    }
}

/// One JSON object a line: `timestamp`, `level`, `target`, `message`, `request_id` (when the
/// event happened while answering a request), then the event's own fields.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = serde_json::Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let metadata = event.metadata();
        let mut line = serde_json::Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), metadata.level().as_str().into());
        line.insert("target".into(), metadata.target().into());
        line.insert(
            "message".into(),
            fields.remove("message").unwrap_or_else(|| "".into()),
        );
        if let Some(id) = request_id(ctx) {
            line.insert("request_id".into(), id.into());
        }
        for (name, value) in fields {
            line.entry(name).or_insert(value);
        }
        writeln!(writer, "{}", serde_json::Value::Object(line))
    }
}

/// The request id of the innermost request span around the event, read from the span's
/// fields as `JsonFields` recorded them.
fn request_id<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    ctx.event_scope()?.find_map(|span| {
        let extensions = span.extensions();
        let recorded = extensions.get::<FormattedFields<N>>()?;
        let fields: serde_json::Value = serde_json::from_str(recorded).ok()?;
        fields
            .get("request_id")
            .and_then(|id| id.as_str())
            .map(str::to_owned)
    })
}

/// Collects an event's fields as JSON values.
struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

/// Standard output, every line masked on its way.
struct MaskedStdout;

impl<'a> MakeWriter<'a> for MaskedStdout {
    type Writer = Masked<std::io::StdoutLock<'a>>;

    fn make_writer(&'a self) -> Self::Writer {
        Masked(std::io::stdout().lock())
    }
}

/// Writes what it is given through [`mask`]. The log formatter hands it one whole line at a
/// time.
struct Masked<W>(W);

impl<W: Write> Write for Masked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(mask(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// What stands for a masked email address.
const EMAIL_MASK: &str = "[email]";
/// What stands for a masked secret.
const SECRET_MASK: &str = "[masked]";

/// Names whose values are secrets wherever they appear as `name=value` or `"name":"value"`
/// (also as the end of a longer name, such as `initial_password` or `session_id`).
const SECRET_NAMES: [&str; 7] = [
    "password",
    "token",
    "secret",
    "session",
    "cookie",
    "authorization",
    "ticket",
];

/// Paths whose next segment is a secret.
const SECRET_PATHS: [&str; 1] = ["/activate/"];

/// A log line without the personal data and secrets it may carry: email addresses become
/// `[email]`; the values of password, token, secret, session, cookie, authorization and
/// ticket fields, bearer tokens and the secrets in activation links become `[masked]`.
pub fn mask(line: &str) -> Cow<'_, str> {
    let lowered = line.to_ascii_lowercase();
    let suspicious = line.contains('@')
        || lowered.contains("bearer ")
        || SECRET_PATHS.iter().any(|path| lowered.contains(path))
        || SECRET_NAMES.iter().any(|name| lowered.contains(name));
    if !suspicious {
        return Cow::Borrowed(line);
    }
    let bytes = line.as_bytes();
    let lower = lowered.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        if let Some((start, end)) = email_around(bytes, at) {
            if start >= copied {
                out.push_str(&line[copied..start]);
                out.push_str(EMAIL_MASK);
                copied = end;
                at = end;
                continue;
            }
        }
        if let Some(value_start) = secret_value_start(lower, at) {
            let end = value_end(bytes, value_start);
            if end > value_start {
                out.push_str(&line[copied..value_start]);
                out.push_str(SECRET_MASK);
                copied = end;
                at = end;
                continue;
            }
        }
        at += 1;
    }
    out.push_str(&line[copied..]);
    Cow::Owned(out)
}

fn is_local_part(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"._%+-".contains(&byte)
}

fn is_domain_part(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-'
}

/// The email address whose `@` is at `at`, as a byte range.
fn email_around(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    if bytes[at] != b'@' {
        return None;
    }
    let mut start = at;
    while start > 0 && is_local_part(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = at + 1;
    while end < bytes.len() && is_domain_part(bytes[end]) {
        end += 1;
    }
    let domain = &bytes[at + 1..end];
    (start < at && domain.contains(&b'.') && domain.first().is_some_and(u8::is_ascii_alphanumeric))
        .then_some((start, end))
}

/// Where a secret value begins when a secret's name, a bearer token or a secret path starts
/// at `at` (in the lowered line).
fn secret_value_start(lower: &[u8], at: usize) -> Option<usize> {
    let rest = &lower[at..];
    if rest.starts_with(b"bearer ") {
        return Some(at + "bearer ".len());
    }
    if let Some(path) = SECRET_PATHS.iter().find(|p| rest.starts_with(p.as_bytes())) {
        return Some(at + path.len());
    }
    let name = SECRET_NAMES
        .iter()
        .find(|name| rest.starts_with(name.as_bytes()))?;
    // The name may end a longer one (`initial_password`), but not be followed by more of a
    // word other than `_id`, `s`, `_hash` and the like: anything up to the separator.
    let mut next = at + name.len();
    while next < lower.len() && (lower[next].is_ascii_alphanumeric() || lower[next] == b'_') {
        next += 1;
    }
    if next < lower.len() && lower[next] == b'"' {
        next += 1;
    }
    match lower.get(next) {
        Some(b'=') | Some(b':') => next += 1,
        _ => return None,
    }
    while next < lower.len() && lower[next] == b' ' {
        next += 1;
    }
    if next < lower.len() && lower[next] == b'"' {
        next += 1;
    }
    if lower[next..].starts_with(b"bearer ") {
        next += "bearer ".len();
    }
    Some(next)
}

/// Where a secret value that begins at `start` ends: at a quote, a space, a separator.
fn value_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && !b"\" &,;}?/\n\r\t".contains(&bytes[end]) {
        end += 1;
    }
    end
}

/// The service's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Email delivery attempts by outcome (`sent`, `retry`, `failed`).
    pub email_attempts: IntCounterVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("placemat_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "placemat_http_request_duration_seconds",
                "Time to answer HTTP requests",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let email_attempts = IntCounterVec::new(
            Opts::new(
                "placemat_email_attempts_total",
                "Email delivery attempts by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(email_attempts.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            email_attempts,
        })
    }

    pub fn render(&self) -> anyhow::Result<String> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8(buffer)?)
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

/// The method as a metric label: the standard methods by name, anything else as `other`,
/// so that invented methods cannot add series without bound. Paths are labelled by their
/// route pattern (or `unmatched`) for the same reason.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Counts and times every request by its route pattern, and echoes the request id.
pub async fn observe_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let metrics = req
        .app_data::<web::Data<Metrics>>()
        .map(|metrics| metrics.get_ref().clone());
    let request_id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let mut response = next.call(req).await?;
    if let Some(metrics) = metrics {
        metrics.observe(
            method,
            &route,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn emails_and_secrets_are_masked_and_the_rest_kept() {
        assert_eq!(
            mask("placemat serving port=8080"),
            "placemat serving port=8080"
        );
        assert_eq!(
            mask("login failed for Li.Ming+x@students.example.edu.cn, try again"),
            "login failed for [email], try again"
        );
        assert_eq!(
            mask(r#"{"message":"signed in","password":"hunter22","user":"u1"}"#),
            r#"{"message":"signed in","password":"[masked]","user":"u1"}"#
        );
        assert_eq!(
            mask("http.target=/activate/abcDEF123?next=/ initial_password=s3cret token: xyz"),
            "http.target=/activate/[masked]?next=/ initial_password=[masked] token: [masked]"
        );
        assert_eq!(
            mask("authorization=Bearer abc.def session_id=42"),
            "authorization=Bearer [masked] session_id=[masked]"
        );
        assert_eq!(mask("query ?token=abc&x=1"), "query ?token=[masked]&x=1");
        assert_eq!(mask("a @ b and user@localhost"), "a @ b and user@localhost");
        assert_eq!(mask("学生 张三 <zhang@usst.edu.cn>"), "学生 张三 <[email]>");
    }
}
