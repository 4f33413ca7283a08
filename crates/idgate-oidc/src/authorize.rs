//! Authorization request validation (OIDC Core §3.1.2). An unknown client or an
//! unregistered redirect URI is shown to the user as a page — redirecting there would
//! make idgate an open redirector; every later error goes back to the client.

use std::collections::HashMap;

use idgate_core::application::Application;
use idgate_core::login::{ACR_MFA, PendingRequest};

use crate::error::{ErrorCode, OAuthError};
use crate::{pkce, scope};

/// Longest `state` / `nonce` accepted: enough for any real client, bounded for storage.
const MAX_STATE: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Show a page saying why; do not redirect.
    Page(PageReason),
    /// Redirect back to the client with an error.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        response_mode: Option<String>,
        error: OAuthError,
    },
}

/// Why a request cannot be answered with a redirect to the client. The web layer shows
/// the user a page with the text for it (from its message catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageReason {
    /// No `client_id`.
    MissingClientId,
    /// `client_id` names no registered application.
    UnknownClient,
    /// No `redirect_uri`.
    MissingRedirectUri,
    /// `redirect_uri` is not one the application registered.
    UnregisteredRedirectUri,
}

/// A valid request, and how the user may be prompted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub request: PendingRequest,
    /// `prompt=none`: answer without showing any page (or fail with `login_required`).
    pub prompt_none: bool,
}

fn get<'a>(p: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

/// The client id of a request, before anything else is known (to look the app up).
pub fn client_id(params: &HashMap<String, String>) -> Option<&str> {
    get(params, "client_id")
}

/// Validates `params` (query or form) for `app` (the application `client_id` named, if
/// any). Unknown parameters are ignored.
pub fn validate(
    params: &HashMap<String, String>,
    app: Option<&Application>,
) -> Result<Validated, AuthorizeError> {
    let Some(client_id) = get(params, "client_id") else {
        return Err(AuthorizeError::Page(PageReason::MissingClientId));
    };
    let Some(app) = app.filter(|a| a.client_id == client_id) else {
        return Err(AuthorizeError::Page(PageReason::UnknownClient));
    };
    let Some(redirect_uri) = get(params, "redirect_uri") else {
        return Err(AuthorizeError::Page(PageReason::MissingRedirectUri));
    };
    if !app.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(AuthorizeError::Page(PageReason::UnregisteredRedirectUri));
    }
    let state = get(params, "state").map(str::to_string);
    let response_mode = match get(params, "response_mode") {
        Some(m @ ("query" | "form_post")) => Some(m.to_string()),
        _ => None,
    };
    let fail = |code: ErrorCode, d: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.to_string(),
        state: state.clone(),
        response_mode: response_mode.clone(),
        error: OAuthError::new(code, d),
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(fail(ErrorCode::InvalidRequest, "state is too long"));
    }
    if params.contains_key("request") {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.contains_key("request_uri") {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match get(params, "response_type") {
        Some("code") => {}
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    let requested = get(params, "scope").unwrap_or_default();
    if !scope::has(requested, "openid") {
        return Err(fail(
            ErrorCode::InvalidScope,
            "the openid scope is required",
        ));
    }
    let nonce = get(params, "nonce").map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_STATE) {
        return Err(fail(ErrorCode::InvalidRequest, "nonce is too long"));
    }
    let code_challenge = match (
        get(params, "code_challenge"),
        get(params, "code_challenge_method"),
    ) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(c), Some("S256")) if pkce::valid_challenge(c) => Some(c.to_string()),
        (Some(_), Some("S256")) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge is not a valid S256 challenge",
            ));
        }
        (Some(_), _) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not supported)",
            ));
        }
    };
    if app.is_public() && code_challenge.is_none() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "public clients must use PKCE (code_challenge with code_challenge_method=S256)",
        ));
    }
    let prompts: Vec<&str> = get(params, "prompt")
        .unwrap_or_default()
        .split_ascii_whitespace()
        .collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match get(params, "max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };
    let require_mfa =
        get(params, "acr_values").is_some_and(|v| v.split_ascii_whitespace().any(|a| a == ACR_MFA));
    Ok(Validated {
        request: PendingRequest {
            client_id: client_id.to_string(),
            redirect_uri: redirect_uri.to_string(),
            scope: scope::normalise(requested),
            state,
            nonce,
            code_challenge,
            response_mode,
            max_age,
            prompt_login: prompts.contains(&"login"),
            login_hint: get(params, "login_hint").map(|h| h.chars().take(64).collect()),
            ui_locales: get(params, "ui_locales").map(|h| h.chars().take(64).collect()),
            require_mfa,
        },
        prompt_none,
    })
}

/// The redirect carrying a result or an error (`query` mode), as a URL.
pub fn redirect_url(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = redirect_uri.to_string();
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let q = ser.finish();
    url.push(if redirect_uri.contains('?') { '&' } else { '?' });
    url.push_str(&q);
    url
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use idgate_core::application::LoginFlow;

    fn app(public: bool) -> Application {
        Application {
            id: "1".into(),
            client_id: "shop".into(),
            client_secret_hash: (!public).then(|| "h".into()),
            name: "Shop".into(),
            redirect_uris: vec!["https://shop.example/cb".into()],
            post_logout_redirect_uris: vec![],
            login_flow: LoginFlow::default(),
            otp_policy: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn params(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut p: HashMap<String, String> = [
            ("client_id", "shop"),
            ("redirect_uri", "https://shop.example/cb"),
            ("response_type", "code"),
            ("scope", "openid profile bogus"),
            ("state", "s1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            p.insert(k.to_string(), v.to_string());
        }
        p
    }

    #[test]
    fn valid_without_nonce_and_unknown_params_ignored() {
        let v = validate(&params(&[("foo", "bar")]), Some(&app(false))).unwrap();
        assert_eq!(v.request.scope, "openid profile");
        assert_eq!(v.request.nonce, None);
        assert!(!v.prompt_none);
    }

    #[test]
    fn bad_client_or_redirect_is_a_page() {
        assert_eq!(
            validate(&params(&[]), None),
            Err(AuthorizeError::Page(PageReason::UnknownClient))
        );
        let p = params(&[("redirect_uri", "https://evil.example/cb")]);
        assert_eq!(
            validate(&p, Some(&app(false))),
            Err(AuthorizeError::Page(PageReason::UnregisteredRedirectUri))
        );
        let mut p = params(&[]);
        p.remove("redirect_uri");
        assert_eq!(
            validate(&p, Some(&app(false))),
            Err(AuthorizeError::Page(PageReason::MissingRedirectUri))
        );
        p.remove("client_id");
        assert_eq!(
            validate(&p, Some(&app(false))),
            Err(AuthorizeError::Page(PageReason::MissingClientId))
        );
    }

    #[test]
    fn later_errors_redirect_with_state() {
        let p = params(&[("response_type", "token")]);
        match validate(&p, Some(&app(false))) {
            Err(AuthorizeError::Redirect { error, state, .. }) => {
                assert_eq!(error.error, ErrorCode::UnsupportedResponseType);
                assert_eq!(state.as_deref(), Some("s1"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pkce_required_for_public_clients_only() {
        assert!(matches!(
            validate(&params(&[]), Some(&app(true))),
            Err(AuthorizeError::Redirect { .. })
        ));
        let c = crate::pkce::s256(&"v".repeat(43));
        let p = params(&[("code_challenge", &c), ("code_challenge_method", "S256")]);
        assert_eq!(
            validate(&p, Some(&app(true)))
                .unwrap()
                .request
                .code_challenge,
            Some(c.clone())
        );
        let p = params(&[("code_challenge", &c), ("code_challenge_method", "plain")]);
        assert!(validate(&p, Some(&app(true))).is_err());
    }

    #[test]
    fn prompt_and_max_age() {
        let v = validate(
            &params(&[("prompt", "none"), ("max_age", "1")]),
            Some(&app(false)),
        )
        .unwrap();
        assert!(v.prompt_none);
        assert_eq!(v.request.max_age, Some(1));
        assert!(validate(&params(&[("prompt", "none login")]), Some(&app(false))).is_err());
        assert!(validate(&params(&[("max_age", "-1")]), Some(&app(false))).is_err());
        assert!(
            validate(&params(&[("prompt", "login")]), Some(&app(false)))
                .unwrap()
                .request
                .prompt_login
        );
    }

    #[test]
    fn redirect_url_appends() {
        assert_eq!(
            redirect_url("https://a/cb?x=1", &[("code", "a b"), ("state", "s")]),
            "https://a/cb?x=1&code=a+b&state=s"
        );
    }
}
