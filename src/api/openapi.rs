//! The OpenAPI document, generated from the route table, the handlers and the types.

use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "placemat", description = "Internship placement service of a regional alliance of engineering universities."),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::domain::ListRule)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The whole document: every route of [`super::routes`], with the answers every operation
/// shares added to each.
pub fn build() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    super::describe(&mut document);
    for item in document.paths.paths.values_mut() {
        for (operation, writes) in [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ] {
            if let Some(operation) = operation {
                complete(operation, writes);
            }
        }
    }
    document
}

/// Adds one route's operation, tags and schemas.
pub(crate) fn describe<P>(document: &mut utoipa::openapi::OpenApi)
where
    P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
{
    let mut operation = P::operation();
    let tags = P::tags();
    if !tags.is_empty() {
        operation
            .tags
            .get_or_insert_with(Vec::new)
            .extend(tags.into_iter().map(str::to_owned));
    }
    document
        .paths
        .add_path_operation(P::path(), P::methods(), operation);
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    let components = document.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
}

/// Whether an operation is open to anyone (its security is the empty requirement).
pub(crate) fn is_public(operation: &Operation) -> bool {
    let anonymous = SecurityRequirement::default();
    operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.iter().all(|r| r == &anonymous))
}

/// Adds the answers that come from the shared extractors and the shared rules rather than
/// from the handler, and gives every problem answer its media type: a protected operation
/// may be refused for the caller's role or scope (403); an operation naming a record in
/// its path may find none (404); one with input may find it malformed (400); one with a
/// body may find it too large (413) or a field at fault (422); and any write may meet a
/// conflicting change (409).
fn complete(operation: &mut Operation, writes: bool) {
    let public = is_public(operation);
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let path_parameters = parameters
        .iter()
        .any(|parameter| parameter.parameter_in == ParameterIn::Path);
    let takes_input = !parameters.is_empty() || operation.request_body.is_some();
    let takes_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.into())
            .or_insert_with(|| problem(description));
    };
    if !public {
        add("401", "no valid bearer token");
        add("403", "the caller's role or scope does not allow this");
    }
    if takes_input {
        add("400", "malformed request: a path id that is not a UUID, a query parameter that does not parse or is out of range, or a body that is not JSON");
    }
    if path_parameters {
        add("404", "no such record, or not one the caller may see");
    }
    if takes_body {
        add("413", "the body is over the limit");
        add("422", "input at fault; `errors` names each field");
    }
    if writes && !public {
        add(
            "409",
            "a conflict with the current state; the problem type names it",
        );
    }
    let responses = &mut operation.responses.responses;
    for response in responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_problem = response.content.get("application/json").is_some_and(|content| {
            matches!(&content.schema, Some(RefOr::Ref(reference)) if reference.ref_location.ends_with("/Problem"))
        });
        if is_problem {
            if let Some(content) = response.content.shift_remove("application/json") {
                response
                    .content
                    .insert("application/problem+json".into(), content);
            }
        }
    }
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// The document as served, serialised once at start.
pub struct Served(pub String);

/// Serves the OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn document(served: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(served.0.clone())
}
