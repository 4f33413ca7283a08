//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' annotations
//! (utoipa) and served at `/api/openapi.json`. A test walks the router's routes and
//! checks every one is documented.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api;
use crate::state::AppState;

/// An RFC 9457 problem, as every `/api/v1` error is answered (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:idgate:problem:<kind>`, e.g. `urn:idgate:problem:invalid_field`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field at fault (JSON path or parameter name), when there is one.
    pub field: Option<String>,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An admin token (`idg_admin_…`), from `idgate admin token create` or `POST /api/v1/admin-tokens`. The console's own scripts use the console session instead.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("An application's client_id and client_secret"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "idgate admin and Verify API",
        description = "Users, applications, OTP policy and templates, providers, messages, audit events, admin tokens, and the Verify API. Errors are RFC 9457 problem+json with a `field` naming the input at fault.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    paths(
        api::users::list,
        api::users::create,
        api::users::read,
        api::users::update,
        api::users::remove,
        api::users::set_mobile,
        api::users::clear_mobile,
        api::users::verify_mobile,
        api::users::set_password,
        api::users::lock,
        api::users::unlock,
        api::users::sessions,
        api::users::revoke_sessions,
        api::applications::list,
        api::applications::create,
        api::applications::read,
        api::applications::update,
        api::applications::remove,
        api::applications::regenerate_secret,
        api::audit::list,
        api::admin_tokens::list,
        api::admin_tokens::create,
        api::admin_tokens::revoke,
        api::verifications::start,
        api::verifications::read,
        api::verifications::check,
        api::verifications::resend,
        api::verifications::cancel,
        api::otp_settings::get_policy,
        api::otp_settings::put_policy,
        api::otp_settings::get_template,
        api::otp_settings::put_template,
        api::otp_settings::delete_template,
        api::otp_settings::list_templates,
        api::test_numbers::list_numbers,
        api::test_numbers::create_number,
        api::test_numbers::delete_number,
        api::providers::list,
        api::providers::read,
        api::providers::create,
        api::providers::update,
        api::providers::remove,
        api::providers::reorder,
        api::providers::test_send,
        api::providers::get_default_fallback,
        api::providers::put_default_fallback,
        api::providers::get_app_fallback,
        api::providers::put_app_fallback,
        api::messages::list,
        api::messages::read,
    )
)]
pub struct ApiDoc;

/// The document as JSON text (OpenAPI 3.1).
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising the OpenAPI document failed");
        String::from("{}")
    })
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(serve))
}

async fn serve() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        document(),
    )
}
