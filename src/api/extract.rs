//! Request extractors that turn bad input into clear problem answers.

use crate::auth::token;
use crate::auth::Caller;
use crate::domain::Timestamp;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// The largest JSON body the API reads.
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// Marks the routes that need a signed-in caller, so that a request with both a bad token
/// and bad input learns about the token first.
#[derive(Debug, Clone, Copy)]
pub struct Protected;

/// The error a request's input earned, unless the route needs a caller and the request has
/// none: then the authentication failure, whatever order the extractors finished in.
async fn authentication_first(req: HttpRequest, error: ApiError) -> ApiError {
    if req.app_data::<Protected>().is_none() {
        return error;
    }
    match Caller::from_request(&req, &mut Payload::None).await {
        Err(unauthenticated) => unauthenticated,
        Ok(_) => error,
    }
}

/// A JSON body, parsed and validated: a syntax error is a 400, a wrong type or a broken
/// rule a 422 naming the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json::<T>(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let read = body.await.and_then(|value| {
                value.ok_or_else(|| ApiError::BadRequest("a JSON body is required".into()))
            });
            match read {
                Ok(value) => Ok(JsonBody(value)),
                Err(error) => Err(authentication_first(req, error).await),
            }
        })
    }
}

/// A JSON body that may be left out entirely, standing for the type's default; a body that
/// is given must be valid.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Validate + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json::<OrNull<T>>(req, payload);
        let req = req.clone();
        Box::pin(async move {
            match body.await {
                Ok(value) => Ok(OptionalJsonBody(
                    value.and_then(|body| body.0).unwrap_or_default(),
                )),
                Err(error) => Err(authentication_first(req, error).await),
            }
        })
    }
}

/// An optional body given as JSON `null`, which stands for no body.
struct OrNull<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrNull<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(OrNull)
    }
}

impl<T: Validate> Validate for OrNull<T> {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        self.0.as_ref().map_or(Ok(()), Validate::validate)
    }
}

/// Reads and validates a JSON body; `None` when the request has no body at all.
fn read_json<T: DeserializeOwned + Validate + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<Option<T>, ApiError>> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or("").trim().to_owned());
    let body = web::Bytes::from_request(req, payload);
    Box::pin(async move {
        let bytes = body
            .await
            .map_err(|error| match error.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(format!(
                    "the body may have at most {MAX_JSON_BODY} bytes"
                )),
                _ => ApiError::BadRequest(format!("cannot read the body: {error}")),
            })?;
        if bytes.is_empty() {
            return Ok(None);
        }
        let is_json = content_type
            .map(|essence| essence == "application/json" || essence.ends_with("+json"))
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::BadRequest(
                "the body must be JSON (Content-Type: application/json)".into(),
            ));
        }
        let value = parse_json::<T>(&bytes)?;
        value.validate()?;
        Ok(Some(value))
    })
}

/// Parses JSON, naming the field at fault when a value has the wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let field = match message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                {
                    Some(missing) if path == "." => missing.to_owned(),
                    Some(missing) => format!("{path}.{missing}"),
                    None if path == "." => "body".to_owned(),
                    None => path,
                };
                ApiError::invalid_fields(vec![FieldError::new(field, message)])
            }
            _ => ApiError::BadRequest(format!("malformed JSON: {inner}")),
        }
    })
}

/// `?limit=&offset=` of every list.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return (1–1000, default 50).
    #[validate(range(min = 1, max = 1000, message = "must be between 1 and 1000"))]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// How many items to skip (default 0).
    #[validate(range(min = 0, message = "must not be negative"))]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

impl PageParams {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50)
    }

    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0)
    }

    /// Wraps one page of items.
    pub fn page<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            total,
            limit: self.limit(),
            offset: self.offset(),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Query parameters, validated: an unparsable or out-of-range value is a 400 naming it.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for QueryParams<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = parse_query(req.query_string());
        let req = req.clone();
        Box::pin(async move {
            match parsed {
                Ok(params) => Ok(params),
                Err(error) => Err(authentication_first(req, error).await),
            }
        })
    }
}

fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<QueryParams<T>, ApiError> {
    let value: T = serde_urlencoded::from_str(query)
        .map_err(|error| ApiError::BadRequest(format!("invalid query parameters: {error}")))?;
    value
        .validate()
        .map_err(|errors| match ApiError::from(errors) {
            ApiError::Validation { detail, .. } => {
                ApiError::BadRequest(format!("invalid query parameters: {detail}"))
            }
            other => other,
        })?;
    Ok(QueryParams(value))
}

/// A raw body of at most `LIMIT` bytes; a larger one is a 413 problem.
pub struct RawBody<const LIMIT: usize>(pub web::Bytes);

impl<const LIMIT: usize> std::ops::Deref for RawBody<LIMIT> {
    type Target = web::Bytes;

    fn deref(&self) -> &web::Bytes {
        &self.0
    }
}

impl<const LIMIT: usize> FromRequest for RawBody<LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            let too_large =
                || ApiError::PayloadTooLarge(format!("the body may have at most {LIMIT} bytes"));
            let read = async {
                if declared.is_some_and(|length| length > LIMIT) {
                    return Err(too_large());
                }
                let mut body = web::BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|error| {
                        ApiError::BadRequest(format!("cannot read the body: {error}"))
                    })?;
                    if body.len() + chunk.len() > LIMIT {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body.freeze())
            };
            match read.await {
                Ok(body) => Ok(RawBody(body)),
                Err(error) => Err(authentication_first(req, error).await),
            }
        })
    }
}

/// Deserialises a field that may be absent (leave unchanged), `null` (clear) or a value.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Answers 400 for a path id that is not a UUID, or 405 when the path is a literal route
/// asked with a method it does not take.
pub fn path_error(error: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    match super::literal_route_refusal(req) {
        Some(refusal) => actix_web::error::InternalError::from_response(error, refusal).into(),
        None => ApiError::BadRequest(format!("invalid path: {error}")).into(),
    }
}

/// The caller of an API request: its bearer token, looked up (or its kept answer reused
/// while no user or token changed).
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return refused(ApiError::Internal(anyhow::anyhow!(
                "application state missing"
            )));
        };
        let fingerprint = match presented_token(req) {
            Ok(presented) => token::fingerprint(presented),
            Err(problem) => return refused(problem),
        };
        // The version is asked before the token is looked up, so that a revocation
        // committed meanwhile is never hidden behind a kept answer. Only changes to users
        // and tokens move it.
        let version = state.changes.callers_version();
        if let Some((caller, expires_at)) = state.callers.get(&fingerprint, version) {
            if Timestamp::now() < expires_at {
                return Box::pin(ready(Ok(caller)));
            }
        }
        Box::pin(async move {
            let key = fingerprint.clone();
            let (caller, expires_at) = state
                .db
                .read(move |conn| Caller::find_by_token(conn, &key))
                .await?
                .ok_or_else(|| {
                    ApiError::Unauthorized("the token is unknown, expired or revoked".into())
                })?;
            state
                .callers
                .put(fingerprint, version, (caller.clone(), expires_at));
            Ok(caller)
        })
    }
}

/// The bearer token of the request's `Authorization` header.
fn presented_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))?;
    header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

fn refused(problem: ApiError) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    Box::pin(ready(Err(problem)))
}
