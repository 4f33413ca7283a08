//! API errors as RFC 9457 `application/problem+json`, mapped once here. Internal
//! details go to the log; the response says what the caller can fix.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idgate_core::notifier::DeliveryError;
use idgate_core::otp::test_numbers::TestNumberError;
use idgate_core::otp::{OtpError, VerificationStatus};
use idgate_core::store::StoreError;
use serde_json::json;

/// An API error; boxed so `Result<T, ApiError>` stays small on the happy path.
#[derive(Debug)]
pub struct ApiError(Box<Problem>);

/// The fields of an RFC 9457 problem.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// Short machine-readable kind, e.g. `invalid_field`; becomes `type` = `urn:idgate:problem:<kind>`.
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// The request field at fault (JSON path), when there is one.
    pub field: Option<String>,
    pub retry_after: Option<u64>,
    pub extra: Option<serde_json::Value>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(Problem {
            status,
            kind,
            title,
            detail: detail.into(),
            field: None,
            retry_after: None,
            extra: None,
        }))
    }

    /// A field that failed validation (422).
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "A field is invalid",
            detail,
        );
        e.field = Some(field.into());
        e
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The request is malformed",
            detail,
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "idgate could not complete the request; the server log has the details (search for the request id)",
        )
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl std::ops::Deref for ApiError {
    type Target = Problem;
    fn deref(&self) -> &Problem {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut Problem {
        &mut self.0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let this = *self.0;
        let mut body = json!({
            "type": format!("urn:idgate:problem:{}", this.kind),
            "title": this.title,
            "status": this.status.as_u16(),
            "detail": this.detail,
        });
        if let Some(field) = &this.field {
            body["field"] = json!(field);
        }
        if let Some(s) = this.retry_after {
            body["retry_after"] = json!(s);
        }
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) =
            (this.extra, body.as_object_mut())
        {
            for (k, v) in extra {
                obj.insert(k, v);
            }
        }
        let mut resp = (this.status, body.to_string()).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = this.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if this.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"idgate\", Bearer realm=\"idgate\""),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            StoreError::NotFound(what) => ApiError::not_found(&what),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}

impl From<OtpError> for ApiError {
    fn from(e: OtpError) -> Self {
        match e {
            OtpError::NotFound => ApiError::not_found("verification"),
            OtpError::NotPending(status) => ApiError::new(
                StatusCode::CONFLICT,
                "verification_not_pending",
                "The verification is over",
                match status {
                    VerificationStatus::Approved => "the verification is approved already: a code \
                        approves once, so no later submit (the right code included) is valid; \
                        start a new verification to prove the number again"
                        .to_string(),
                    s => format!("the verification is {}; start a new one", s.as_str()),
                },
            )
            .with_extra(json!({"verification_status": status.as_str()})),
            OtpError::ResendLimit(max) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "resend_limit_reached",
                "No more resends",
                format!("this verification has used all {max} resends; start a new verification"),
            ),
            OtpError::Cooldown(secs) => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "resend_cooldown",
                    "Too soon to resend",
                    format!("a new code can be sent in {secs} seconds"),
                );
                e.retry_after = Some(secs.max(1) as u64);
                e
            }
            OtpError::ChannelDisabled(ch) => ApiError::invalid_field(
                "channel",
                format!(
                    "the {ch} channel has no provider configured; configure one or use another channel"
                ),
            ),
            OtpError::Delivery(d) => {
                tracing::warn!(error = %d, "delivery failed");
                match d {
                    // The gateways' own text stays with admins (message log); the caller
                    // gets a fixed text and the message id to ask them with.
                    DeliveryError::AllFailed {
                        channel,
                        message_id,
                        ..
                    } => ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "delivery_failed",
                        "The code could not be sent",
                        format!(
                            "no provider could send the {channel} message {message_id}; the verification is marked failed — try again later or another channel (an administrator sees each provider's answer in the message log)"
                        ),
                    )
                    .with_extra(json!({"message_id": message_id})),
                    other => ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "delivery_failed",
                        "The code could not be sent",
                        format!(
                            "{other}; the verification is marked failed — try again later or another channel"
                        ),
                    ),
                }
            }
            OtpError::Store(e) => e.into(),
            OtpError::Crypto(e) => {
                tracing::error!(error = %e, "crypto error");
                ApiError::internal()
            }
            OtpError::Policy(e) => {
                tracing::error!(error = %e, "stored OTP policy unreadable");
                ApiError::internal()
            }
            OtpError::Refused(r) => r.into(),
            OtpError::TestNumber(e) => {
                let field = match &e {
                    TestNumberError::BadCode => "code".to_string(),
                    TestNumberError::BadApplication(i) => format!("applications[{i}]"),
                    TestNumberError::TooManyApplications => "applications".to_string(),
                    TestNumberError::NotAllowedInProduction => "allow_in_production".to_string(),
                };
                ApiError::invalid_field(field, e.to_string())
            }
            e @ OtpError::TestNumberInConfig(_) => ApiError::new(
                StatusCode::CONFLICT,
                "test_number_in_config",
                "Set in the config file",
                e.to_string(),
            )
            .with_field("number"),
            e @ OtpError::TooManyTestNumbers(_) => ApiError::new(
                StatusCode::CONFLICT,
                "too_many_test_numbers",
                "Too many test numbers",
                e.to_string(),
            ),
        }
    }
}
