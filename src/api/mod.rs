//! The HTTP API, by resource.

pub mod applications;
pub mod auth;
pub mod bases;
pub mod cycles;
pub mod direct_applications;
pub mod emails;
pub mod extract;
pub mod match_runs;
pub mod negotiate;
pub mod openapi;
pub mod ops;
pub mod personal_data;
pub mod placements;
pub mod problem;
pub mod programs;
pub mod stats;
pub mod students;
pub mod universities;

use crate::error::{ApiError, Problem};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{guard, web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};
use extract::Protected;
use utoipa::openapi::path::{HttpMethod, Operation};

/// Declares every route once: each handler's `utoipa::path` attribute carries its method,
/// path and OpenAPI entry, and this table mounts the handler under exactly that method and
/// path and adds the same entry to the document.
macro_rules! route_table {
    ($($module:ident :: $handler:ident),* $(,)?) => {
        /// Mounts every route of the API.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $(paste::paste! { mount::<$module::[<__path_ $handler>], _, _>(cfg, $module::$handler); })*
        }

        /// Adds every route's operation and the schemas it refers to.
        pub(crate) fn describe(document: &mut utoipa::openapi::OpenApi) {
            $(paste::paste! { openapi::describe::<$module::[<__path_ $handler>]>(document); })*
        }
    };
}

// Literal paths come before parameterised paths that would also match them
// (`/students/import` before `/students/{id}`).
route_table! {
    ops::healthz,
    ops::readyz,
    ops::metrics,
    openapi::document,
    auth::login,
    auth::logout,
    auth::me,
    universities::list,
    universities::create,
    programs::list,
    programs::create,
    bases::list,
    bases::create,
    bases::get,
    bases::update,
    cycles::list,
    cycles::create,
    cycles::get,
    cycles::update,
    cycles::list_seats,
    cycles::put_seats,
    students::list,
    students::create,
    students::import,
    students::get,
    students::update,
    students::resend_invitation,
    personal_data::export,
    personal_data::erase,
    match_runs::receipt,
    applications::get_mine,
    applications::put_mine,
    applications::list,
    applications::get_ranking,
    applications::put_ranking,
    match_runs::list,
    match_runs::create,
    match_runs::get,
    match_runs::assignments,
    match_runs::publish,
    match_runs::bundle,
    match_runs::equity,
    match_runs::cutoffs,
    direct_applications::list,
    direct_applications::create,
    direct_applications::accept,
    direct_applications::reject,
    placements::list,
    placements::get,
    placements::confirm,
    placements::decline,
    placements::withdraw,
    placements::complete,
    emails::list,
    emails::get,
    emails::retry,
    stats::placements,
}

/// Mounts one handler under the method and path of its OpenAPI entry; a route whose entry
/// asks for a bearer token is marked [`Protected`].
fn mount<P, H, Args>(cfg: &mut web::ServiceConfig, handler: H)
where
    P: utoipa::Path,
    H: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    H::Output: Responder + 'static,
{
    let protected = !openapi::is_public(&P::operation());
    for method in P::methods() {
        let method = http_method(&method);
        let mut resource = web::resource(P::path())
            .guard(guard::Method(method.clone()))
            .route(web::method(method).to(handler.clone()));
        if protected {
            resource = resource.app_data(Protected);
        }
        cfg.service(resource);
    }
}

fn http_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// The documented routes, to tell an unknown path (404) from a known path asked with a
/// method it does not answer (405).
pub struct RouteIndex {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

impl RouteIndex {
    pub fn of(document: &utoipa::openapi::OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.split('/').map(str::to_owned).collect();
                let operations: [(&Option<Operation>, &[Method]); 5] = [
                    (&item.get, &[Method::GET, Method::HEAD]),
                    (&item.post, &[Method::POST]),
                    (&item.put, &[Method::PUT]),
                    (&item.patch, &[Method::PATCH]),
                    (&item.delete, &[Method::DELETE]),
                ];
                let methods = operations
                    .into_iter()
                    .filter(|(operation, _)| operation.is_some())
                    .flat_map(|(_, methods)| methods.iter().cloned())
                    .collect();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods the path answers: those of its literal route when it has one (a request
    /// for it never reaches a parameterised route that would also match), else those of
    /// every route it matches; none if it is no route.
    fn allowed(&self, path: &str) -> Vec<Method> {
        let literal = self.literal(path);
        if !literal.is_empty() {
            return literal;
        }
        let asked: Vec<&str> = path.split('/').collect();
        let mut allowed: Vec<Method> = Vec::new();
        for (segments, methods) in &self.routes {
            let matches = segments.len() == asked.len()
                && segments.iter().zip(&asked).all(|(template, given)| {
                    template == given || (template.starts_with('{') && !given.is_empty())
                });
            if matches {
                allowed.extend(
                    methods
                        .iter()
                        .filter(|m| !allowed.contains(m))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
            }
        }
        allowed
    }

    /// The methods of the route whose path is exactly `path`, with no parameter in it.
    fn literal(&self, path: &str) -> Vec<Method> {
        let asked: Vec<&str> = path.split('/').collect();
        self.routes
            .iter()
            .filter(|(segments, _)| segments == &asked)
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect()
    }
}

/// The answer to a method that `path`'s own route does not take, when a parameterised route
/// took the request and could not read `path` as its parameter (`PATCH /students/import`
/// meets `PATCH /students/{id}`): 405 for the literal route rather than 400 for the id.
pub fn literal_route_refusal(req: &HttpRequest) -> Option<HttpResponse> {
    let index = req.app_data::<web::Data<RouteIndex>>()?;
    let allowed = index.literal(req.path());
    if allowed.is_empty() || allowed.contains(req.method()) {
        return None;
    }
    Some(method_not_allowed(req.method(), &allowed))
}

/// Answers what no route took: 405 with `Allow` for a known path, 404 otherwise.
pub async fn fallback(
    req: HttpRequest,
    index: web::Data<RouteIndex>,
) -> Result<HttpResponse, ApiError> {
    let allowed = index.allowed(req.path());
    if allowed.is_empty() {
        return Err(ApiError::NotFound("no such endpoint".into()));
    }
    Ok(method_not_allowed(req.method(), &allowed))
}

fn method_not_allowed(method: &Method, allowed: &[Method]) -> HttpResponse {
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    HttpResponse::MethodNotAllowed()
        .content_type("application/problem+json")
        .insert_header((header::ALLOW, allow.clone()))
        .json(Problem {
            kind: "https://placemat.example/problems/method-not-allowed".into(),
            title: "Method not allowed".into(),
            status: 405,
            detail: format!("{method} is not answered here; this path answers {allow}"),
            errors: Vec::new(),
        })
}

/// The longest query string the API reads. Longer ones, up to the HTTP layer's limit on a
/// request head (128 KiB), are answered with a problem; past that limit the HTTP layer
/// answers a bare 400 itself.
pub const MAX_QUERY: usize = 8 * 1024;

/// Refuses over-long query strings, and answers HEAD as the GET it stands for (the HTTP
/// layer leaves the body out).
pub async fn request_line(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.query_string().len() > MAX_QUERY {
        return Err(ApiError::BadRequest(format!(
            "the query string may have at most {MAX_QUERY} bytes"
        ))
        .into());
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
