//! Built-in applications: clients idgate registers for itself at start (the `/demo`
//! relying party, the console). They are public clients (PKCE, no secret) whose redirect
//! URIs follow the configured issuer, so changing `server.issuer` just works.

use idgate_core::UnixTime;
use idgate_core::application::{Application, LoginFlow};
use idgate_core::store::{Store, StoreError, StoreResult};

/// What a built-in application looks like.
#[derive(Debug, Clone)]
pub struct BuiltinApp {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub login_flow: LoginFlow,
}

/// Creates the application if it is missing, or brings its name and URIs up to date
/// (its login flow is left as an operator may have changed it). Safe on several nodes
/// starting at once.
pub async fn ensure(store: &dyn Store, b: &BuiltinApp, now: UnixTime) -> StoreResult<Application> {
    if let Some(mut app) = store.get_application(&b.client_id).await? {
        if app.redirect_uris != b.redirect_uris
            || app.post_logout_redirect_uris != b.post_logout_redirect_uris
            || app.name != b.name
        {
            app.redirect_uris = b.redirect_uris.clone();
            app.post_logout_redirect_uris = b.post_logout_redirect_uris.clone();
            app.name = b.name.clone();
            app.updated_at = now;
            store.update_application(&app).await?;
        }
        return Ok(app);
    }
    let app = Application {
        id: idgate_core::new_id(),
        client_id: b.client_id.clone(),
        client_secret_hash: None,
        name: b.name.clone(),
        redirect_uris: b.redirect_uris.clone(),
        post_logout_redirect_uris: b.post_logout_redirect_uris.clone(),
        login_flow: b.login_flow.clone(),
        otp_policy: None,
        created_at: now,
        updated_at: now,
    };
    match store.create_application(&app).await {
        Ok(()) => Ok(app),
        // Another node created it first.
        Err(StoreError::Conflict(_)) => store
            .get_application(&b.client_id)
            .await?
            .ok_or_else(|| StoreError::Conflict(b.client_id.clone())),
        Err(e) => Err(e),
    }
}
