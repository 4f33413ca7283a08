//! What every sign-in handler starts from: the session with its journey, the
//! application, the user so far, and the texts in the user's language.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idgate_core::application::{Application, LoginFlow};
use idgate_core::crypto::ct_eq;
use idgate_core::login::Journey;
use idgate_core::user::User;

use crate::oidc::authorize::effective_flow;
use crate::pages::{self, Texts, i18n};
use crate::session::{self, Loaded};
use crate::state::AppState;

pub struct Ctx {
    pub state: AppState,
    pub loaded: Loaded,
    pub journey: Journey,
    pub app: Application,
    pub flow: LoginFlow,
    pub user: Option<User>,
    pub t: &'static Texts,
    /// Set when the session secret was rotated: the response must carry the new cookie.
    pub new_cookie: bool,
    /// A factor was proven and the secret must change with the next session write (see
    /// [`Ctx::rotate_on_save`]).
    pub rotation_due: bool,
}

pub fn server_error(state: &AppState, t: &'static Texts) -> Response {
    pages::message(
        &state.oidc.brand,
        t,
        StatusCode::INTERNAL_SERVER_ERROR,
        t.error_title,
        "error",
        t.server_error.into(),
    )
}

fn expired(state: &AppState, t: &'static Texts) -> Response {
    pages::message(
        &state.oidc.brand,
        t,
        StatusCode::BAD_REQUEST,
        t.expired_title,
        "error",
        t.expired.into(),
    )
}

impl Ctx {
    pub async fn load(state: &AppState, headers: &HeaderMap) -> Result<Self, Response> {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let t0 = i18n::for_locales(None, accept);
        let loaded = match session::load(state, headers).await {
            Ok(Some(l)) => l,
            Ok(None) => return Err(expired(state, t0)),
            Err(e) => {
                tracing::error!(error = %e, "login: loading the session failed");
                return Err(server_error(state, t0));
            }
        };
        let Some(journey) = loaded.session.journey.clone() else {
            return Err(expired(state, t0));
        };
        let t = i18n::for_locales(journey.request.ui_locales.as_deref(), accept);
        // A journey older than the session lifetime is stale, whatever the cookie says.
        if state.now() - journey.started_at > state.oidc.session_ttl {
            return Err(expired(state, t));
        }
        let app = match state
            .store
            .get_application(&journey.request.client_id)
            .await
        {
            Ok(Some(a)) => a,
            Ok(None) => return Err(expired(state, t)),
            Err(e) => {
                tracing::error!(error = %e, "login: loading the application failed");
                return Err(server_error(state, t));
            }
        };
        let user = match &journey.user_id {
            Some(id) => match state.store.get_user(id).await {
                Ok(u) => u,
                Err(e) => {
                    tracing::error!(error = %e, "login: loading the user failed");
                    return Err(server_error(state, t));
                }
            },
            None => None,
        };
        let flow = effective_flow(&app, &journey.request);
        Ok(Self {
            state: state.clone(),
            loaded,
            journey,
            app,
            flow,
            user,
            t,
            new_cookie: false,
            rotation_due: false,
        })
    }

    /// Whether a form post is genuine: same-origin by the browser's own headers, and
    /// carrying this session's CSRF token.
    pub fn form_ok(&self, headers: &HeaderMap, csrf: Option<&str>) -> bool {
        crate::security_headers::same_origin_post(headers, &self.state.settings.issuer)
            && csrf.is_some_and(|c| ct_eq(c.as_bytes(), self.loaded.session.csrf.as_bytes()))
    }

    /// Writes the journey back into the session (rotating its secret if a proven factor
    /// left that due).
    pub async fn save(&mut self) -> Result<(), Response> {
        self.loaded.session.journey = Some(self.journey.clone());
        self.write_session().await
    }

    /// Writes the session as it stands in `self.loaded`, with the due rotation if any.
    pub async fn write_session(&mut self) -> Result<(), Response> {
        if self.rotation_due {
            return self.rotate().await;
        }
        session::save(&self.state, &mut self.loaded)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "login: saving the session failed");
                server_error(&self.state, self.t)
            })
    }

    /// After a proven factor the session secret must change (session fixation). The
    /// change rides on the next session write — the page that follows a factor always
    /// writes the session (sending a code, finishing, or [`Ctx::flush`]) — so a factor
    /// costs one write, not a rotation and then a save. Until that write nothing of the
    /// factor is stored and the old cookie still names the old state.
    pub fn rotate_on_save(&mut self) {
        self.rotation_due = true;
    }

    /// Writes a rotation left due, before a page that writes nothing else.
    pub async fn flush(&mut self) -> Result<(), Response> {
        if self.rotation_due {
            self.save().await
        } else {
            Ok(())
        }
    }

    /// Gives the session a new secret and saves it (one write).
    async fn rotate(&mut self) -> Result<(), Response> {
        match session::rotate_and_save(&self.state, &mut self.loaded).await {
            Ok(true) => {
                self.new_cookie = true;
                self.rotation_due = false;
                Ok(())
            }
            Ok(false) => Err(expired(&self.state, self.t)),
            Err(e) => {
                tracing::error!(error = %e, "login: rotating the session failed");
                Err(server_error(&self.state, self.t))
            }
        }
    }

    /// Adds the new cookie to a response when the secret changed.
    pub fn finish(&self, mut r: Response) -> Response {
        if self.new_cookie {
            r.headers_mut().insert(
                header::SET_COOKIE,
                session::set_cookie(&self.state, &self.loaded.secret),
            );
        }
        r
    }

    pub fn user_name(&self) -> Option<String> {
        self.user
            .as_ref()
            .map(|u| u.display_name.clone().unwrap_or_else(|| u.username.clone()))
    }

    pub fn locale(&self) -> Option<String> {
        self.user.as_ref().and_then(|u| u.locale.clone())
    }
}
