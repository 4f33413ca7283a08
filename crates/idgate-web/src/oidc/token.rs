//! `/token` and `/revoke`: client authentication, then the grant. Codes and refresh
//! tokens are single-use in the store; a second use revokes the grant they belong to.

use std::collections::HashMap;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idgate_core::application::Application;
use idgate_core::crypto::{ct_eq, time_ordered_token};
use idgate_core::grant::{CodeRedemption, Grant, RefreshRotation, RefreshToken};
use idgate_core::login::{acr, amr};
use idgate_core::new_id;
use idgate_oidc::claims::{
    ACCESS_TOKEN_TYP, AccessTokenClaims, ID_TOKEN_TYP, IdTokenClaims, user_claims,
};
use idgate_oidc::token::{ClientAuth, GrantRequest, TokenResponse, client_auth, parse_grant};
use idgate_oidc::{ErrorCode, OAuthError, SigningAlg, pkce, scope};

use crate::oidc::errors::{json, no_store};
use crate::oidc::state::ClientTokens;
use crate::state::AppState;

type OResult<T> = Result<T, OAuthError>;

fn internal(what: &str, e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "{what}");
    OAuthError::server_error()
}

/// Authenticates the client: a confidential client by its secret (compared as keyed
/// hashes in constant time), a public client by its id alone.
async fn authenticate(state: &AppState, auth: &ClientAuth) -> OResult<Application> {
    let app = state
        .store
        .get_application(auth.client_id())
        .await
        .map_err(|e| internal("token: loading the client failed", e))?;
    let bad = || OAuthError::invalid_client("unknown client or wrong client secret");
    match (auth, app) {
        (ClientAuth::Secret { secret, .. }, Some(app)) => {
            let presented = state.keys.token_hash(secret);
            match &app.client_secret_hash {
                Some(h) if ct_eq(h.as_bytes(), presented.as_bytes()) => Ok(app),
                _ => Err(bad()),
            }
        }
        (ClientAuth::Secret { secret, .. }, None) => {
            // Same work as a known client.
            let _ = state.keys.token_hash(secret);
            Err(bad())
        }
        (ClientAuth::Public { .. }, Some(app)) if app.is_public() => Ok(app),
        _ => Err(bad()),
    }
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    match handle(&state, &headers, &form).await {
        Ok(body) => {
            let mut r = (StatusCode::OK, axum::Json(body)).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => json(&e),
    }
}

/// A token request answered inside this process, exactly as `/token` would answer it
/// (the built-in `/demo` relying party exchanges its codes this way, so it works
/// whatever the network between idgate and its public address).
pub async fn request_in_process(
    state: &AppState,
    form: &HashMap<String, String>,
) -> Result<TokenResponse, OAuthError> {
    handle(state, &HeaderMap::new(), form).await
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> OResult<TokenResponse> {
    let auth = client_auth(authorization(headers), form)?;
    let grant_req = parse_grant(form)?;
    let app = authenticate(state, &auth).await?;
    match grant_req {
        GrantRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => authorization_code(state, &app, &code, redirect_uri, code_verifier).await,
        GrantRequest::RefreshToken {
            refresh_token,
            scope: _,
        } => refresh(state, &app, &refresh_token).await,
        GrantRequest::ClientCredentials { scope } => {
            client_credentials(state, &app, scope.as_deref()).await
        }
    }
}

async fn authorization_code(
    state: &AppState,
    app: &Application,
    code: &str,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
) -> OResult<TokenResponse> {
    let now = state.now();
    // The first refresh token is stored by the redemption itself (one write).
    let (refresh_token, refresh_hash) = new_refresh(state)?;
    let redeemed = state
        .store
        .redeem_auth_code(&state.keys.lookup_hash(code), now, Some(&refresh_hash))
        .await
        .map_err(|e| internal("token: redeeming the code failed", e))?;
    let c = match redeemed {
        CodeRedemption::Redeemed(c) => c,
        CodeRedemption::Reused(_) => {
            tracing::warn!(client_id = %app.client_id, "authorization code reused; its grant is revoked");
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            ));
        }
        CodeRedemption::Invalid => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is invalid or expired",
            ));
        }
    };
    if c.client_id != app.client_id {
        let _ = state.store.revoke_grant(&c.grant_id, now).await;
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if redirect_uri.as_deref() != Some(c.redirect_uri.as_str()) {
        let _ = state.store.revoke_grant(&c.grant_id, now).await;
        return Err(OAuthError::invalid_grant(
            "redirect_uri must be the one used in the authorization request",
        ));
    }
    if let Some(challenge) = &c.code_challenge {
        let ok = code_verifier
            .as_deref()
            .is_some_and(|v| pkce::verify(v, challenge));
        if !ok {
            let _ = state.store.revoke_grant(&c.grant_id, now).await;
            return Err(OAuthError::invalid_grant(
                "the PKCE code_verifier does not match",
            ));
        }
    } else if code_verifier.is_some() {
        return Err(OAuthError::invalid_grant(
            "a code_verifier was sent but the authorization request had no code_challenge",
        ));
    }
    let grant = active_grant(state, &c.grant_id).await?;
    respond(state, app, &grant, Some(refresh_token)).await
}

async fn active_grant(state: &AppState, id: &str) -> OResult<Grant> {
    match state.store.get_grant(id).await {
        Ok(Some(g)) if g.is_active(state.now()) => Ok(g),
        Ok(_) => Err(OAuthError::invalid_grant(
            "the grant was revoked or has expired",
        )),
        Err(e) => Err(internal("token: loading the grant failed", e)),
    }
}

async fn refresh(state: &AppState, app: &Application, token: &str) -> OResult<TokenResponse> {
    let now = state.now();
    let hash = state.keys.lookup_hash(token);
    // Check ownership before spending, so another client cannot burn a token.
    let gid = state
        .store
        .refresh_token_grant(&hash)
        .await
        .map_err(|e| internal("token: loading the refresh token failed", e))?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    let grant = active_grant(state, &gid).await?;
    if grant.client_id != app.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let (next, next_hash) = new_refresh(state)?;
    let rec = RefreshToken {
        token_hash: next_hash,
        grant_id: gid.clone(),
        created_at: now,
        expires_at: grant.expires_at,
        used_at: None,
    };
    match state
        .store
        .rotate_refresh_token(&hash, &rec, now)
        .await
        .map_err(|e| internal("token: rotating the refresh token failed", e))?
    {
        RefreshRotation::Rotated(_) => {}
        RefreshRotation::Reused(_) => {
            tracing::warn!(client_id = %app.client_id, "refresh token reused; its grant is revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; the session's tokens are revoked",
            ));
        }
        RefreshRotation::Invalid => {
            return Err(OAuthError::invalid_grant(
                "the refresh token is invalid or expired",
            ));
        }
    }
    respond(state, app, &grant, Some(next)).await
}

fn new_refresh(state: &AppState) -> OResult<(String, String)> {
    let t = time_ordered_token().map_err(|e| internal("rng", e))?;
    let h = state.keys.lookup_hash(&t);
    Ok((t, h))
}

/// Lifetimes and ID-token algorithm for `app` (its overrides on the server's).
async fn client_tokens(state: &AppState, app: &Application) -> OResult<ClientTokens> {
    state
        .oidc
        .client_tokens(&app.client_id)
        .await
        .map_err(|e| internal("token: loading the client's token settings failed", e))
}

/// Access token + ID token (+ `refresh_token`, already stored, when given).
async fn respond(
    state: &AppState,
    app: &Application,
    grant: &Grant,
    refresh_token: Option<String>,
) -> OResult<TokenResponse> {
    let now = state.now();
    let issuer = &state.settings.issuer;
    let client = client_tokens(state, app).await?;
    let lifetimes = client.lifetimes;
    let user_id = grant
        .user_id
        .clone()
        .ok_or_else(|| OAuthError::invalid_grant("the grant has no user"))?;
    let user = match state.store.get_user(&user_id).await {
        Ok(Some(u)) if !u.is_locked(now) => u,
        Ok(_) => return Err(OAuthError::invalid_grant("the user can no longer sign in")),
        Err(e) => return Err(internal("token: loading the user failed", e)),
    };
    let ring = state
        .oidc
        .ring()
        .await
        .map_err(|e| internal("token: loading signing keys failed", e))?;
    let access = AccessTokenClaims {
        iss: issuer.clone(),
        sub: user.id.clone(),
        aud: app.client_id.clone(),
        client_id: app.client_id.clone(),
        exp: now + lifetimes.access_token,
        iat: now,
        jti: new_id(),
        scope: grant.scope.clone(),
        gid: Some(grant.id.clone()),
    };
    let access_token = ring
        .sign(SigningAlg::Es256, ACCESS_TOKEN_TYP, &access)
        .map_err(|e| internal("token: signing the access token failed", e))?;
    let id = IdTokenClaims {
        iss: issuer.clone(),
        sub: user.id.clone(),
        aud: app.client_id.clone(),
        exp: now + lifetimes.id_token,
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.clone(),
        azp: app.client_id.clone(),
        sid: grant.session_id.clone(),
        acr: acr(&grant.factors).to_string(),
        amr: amr(&grant.factors),
        user: user_claims(&user, &grant.scope),
    };
    let id_token = ring
        .sign(client.id_token_alg, ID_TOKEN_TYP, &id)
        .map_err(|e| internal("token: signing the ID token failed", e))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetimes.access_token,
        id_token: Some(id_token),
        refresh_token,
        scope: grant.scope.clone(),
    })
}

/// A machine-to-machine token: no user, no ID token, no refresh token.
async fn client_credentials(
    state: &AppState,
    app: &Application,
    requested: Option<&str>,
) -> OResult<TokenResponse> {
    if app.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let now = state.now();
    let lifetimes = client_tokens(state, app).await?.lifetimes;
    let granted = scope::normalise(requested.unwrap_or_default())
        .split_ascii_whitespace()
        .filter(|s| *s != "openid" && *s != "offline_access")
        .collect::<Vec<_>>()
        .join(" ");
    let ring = state
        .oidc
        .ring()
        .await
        .map_err(|e| internal("token: loading signing keys failed", e))?;
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: app.client_id.clone(),
        aud: app.client_id.clone(),
        client_id: app.client_id.clone(),
        exp: now + lifetimes.access_token,
        iat: now,
        jti: new_id(),
        scope: granted.clone(),
        gid: None,
    };
    let access_token = ring
        .sign(SigningAlg::Es256, ACCESS_TOKEN_TYP, &claims)
        .map_err(|e| internal("token: signing the access token failed", e))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetimes.access_token,
        id_token: None,
        refresh_token: None,
        scope: granted,
    })
}

/// RFC 7009: revokes the grant behind a refresh token or an access token. Answers 200
/// for unknown tokens too (the client cannot learn what exists).
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let result: OResult<()> = async {
        let auth = client_auth(authorization(&headers), &form)?;
        let app = authenticate(&state, &auth).await?;
        let token = form
            .get("token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let now = state.now();
        let gid = match state
            .store
            .refresh_token_grant(&state.keys.lookup_hash(token))
            .await
            .map_err(|e| internal("revoke: lookup failed", e))?
        {
            Some(gid) => Some(gid),
            None => {
                let ring = state
                    .oidc
                    .ring()
                    .await
                    .map_err(|e| internal("revoke: keys", e))?;
                ring.verify::<AccessTokenClaims>(token, &state.settings.issuer, ACCESS_TOKEN_TYP)
                    .ok()
                    .filter(|c| c.client_id == app.client_id)
                    .and_then(|c| c.gid)
            }
        };
        if let Some(gid) = gid.as_deref()
            && let Ok(Some(g)) = state.store.get_grant(gid).await
            && g.client_id == app.client_id
        {
            state
                .store
                .revoke_grant(gid, now)
                .await
                .map_err(|e| internal("revoke: revoking failed", e))?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            no_store(&mut r);
            r
        }
        Err(e) => json(&e),
    }
}
