//! What D7's answers mean, shared by the SMS and WhatsApp presets.
//!
//! D7 accepts with 200 `{"request_id": …}` and refuses with `{"detail": …}`: an object
//! `{code, message}` (401, 402, …), a list of field problems (422), or a plain string.
//! The reason an operator sees is D7's own, scrubbed of the code and the number.

use serde_json::Value;

use crate::http_client::HttpAnswer;
use crate::provider::{OutgoingMessage, SendError, SendReceipt};

/// The outcome of one D7 send.
pub(crate) fn outcome(
    answer: &HttpAnswer,
    msg: &OutgoingMessage,
) -> Result<SendReceipt, SendError> {
    let json = answer.json();
    if answer.is_success() {
        let id = json
            .as_ref()
            .and_then(|j| j.get("request_id"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        return match id {
            Some(id) => Ok(SendReceipt {
                provider_message_id: Some(id.to_string()),
                http_status: Some(answer.status),
                latency_ms: answer.latency_ms,
            }),
            // It may have been accepted: fail over rather than send it here again.
            None => Err(SendError::ambiguous(format!(
                "D7 answered {} without a request_id",
                answer.status
            ))
            .with_status(answer.status)),
        };
    }
    Err(SendError::from_status(
        answer.status,
        reason(answer.status, json.as_ref(), &answer.body),
    )
    .scrubbed(msg))
}

/// D7's reason for a refusal, in one line.
pub(crate) fn reason(status: u16, json: Option<&Value>, body: &str) -> String {
    let detail = json.and_then(|j| j.get("detail"));
    match detail {
        Some(Value::Object(o)) => {
            let code = o.get("code").and_then(Value::as_str).unwrap_or("");
            let message = o.get("message").and_then(Value::as_str).unwrap_or("");
            format!("D7 answered {status} {code}: {message}")
                .trim_end_matches([' ', ':'])
                .to_string()
        }
        Some(Value::Array(items)) => {
            let fields: Vec<String> = items
                .iter()
                .map(|i| {
                    let loc = i
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| {
                            l.iter()
                                .filter(|p| p.as_str() != Some("body"))
                                .map(|p| match p {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    let m = i.get("msg").and_then(Value::as_str).unwrap_or("invalid");
                    format!("{loc} ({m})")
                })
                .collect();
            format!(
                "D7 answered {status}: invalid fields: {}",
                fields.join("; ")
            )
        }
        Some(Value::String(s)) => format!("D7 answered {status}: {s}"),
        _ if body.trim().is_empty() => format!("D7 answered {status}"),
        _ => format!("D7 answered {status}: {}", body.trim()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn d7_reasons() {
        assert_eq!(
            reason(
                401,
                Some(
                    &json!({"detail":{"code":"ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED","message":"It looks like your requested token signature is invalid."}})
                ),
                ""
            ),
            "D7 answered 401 ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED: It looks like your requested token signature is invalid."
        );
        assert_eq!(
            reason(
                422,
                Some(
                    &json!({"detail":[{"loc":["body","messages",0,"recipients"],"msg":"field required","type":"value_error.missing"}]})
                ),
                ""
            ),
            "D7 answered 422: invalid fields: messages.0.recipients (field required)"
        );
        assert_eq!(
            reason(400, Some(&json!({"detail":"bad"})), ""),
            "D7 answered 400: bad"
        );
        assert_eq!(
            reason(502, None, "<html>oops</html>"),
            "D7 answered 502: <html>oops</html>"
        );
        assert_eq!(reason(503, None, ""), "D7 answered 503");
    }
}
