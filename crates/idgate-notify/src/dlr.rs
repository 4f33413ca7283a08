//! Delivery reports: what a gateway later says happened to a message.
//!
//! D7 posts `{"request_id", "msg_id", "recipient", "status", …}` — as JSON in one version
//! of its documentation and as a form in another, and spells the failure `undelivered` or
//! `un_delivered`: all of these are accepted. Twilio posts a form with `MessageSid` and
//! `MessageStatus`. Vonage's SMS API sends `messageId`, `status`, `err-code`, … as a GET
//! query, a form or JSON. A report may arrive more than once and out of order: a final
//! status (`delivered`, `undelivered`) is never overwritten by an interim one (`sent`).

use std::sync::Arc;

use idgate_core::UnixTime;
use idgate_core::message::DeliveryStatus;
use idgate_core::otp::Channel;
use idgate_core::provider_config::ProviderKind;
use idgate_core::store::{Store, StoreError};
use serde_json::Value;

/// One report, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The gateway's id for the message (D7 `request_id`, Twilio `MessageSid`).
    pub provider_message_id: String,
    /// The gateway's own word for the status.
    pub raw_status: String,
    /// What it means for idgate; `None` for statuses that say nothing new (`scheduled`).
    pub status: Option<DeliveryStatus>,
}

/// Maps a D7 (SMS or WhatsApp) status.
pub fn map_d7_status(s: &str) -> Option<DeliveryStatus> {
    match s.trim().to_ascii_lowercase().as_str() {
        // WhatsApp's `read` implies delivery.
        "delivered" | "read" => Some(DeliveryStatus::Delivered),
        "sent" | "accepted" | "processed" => Some(DeliveryStatus::Sent),
        "undelivered"
        | "un_delivered"
        | "not_reachable"
        | "rejected"
        | "failed"
        | "expired"
        | "spam_content"
        | "insufficient_credit"
        | "blocked" => Some(DeliveryStatus::Undelivered),
        _ => None,
    }
}

/// Maps a Twilio `MessageStatus`.
pub fn map_twilio_status(s: &str) -> Option<DeliveryStatus> {
    match s.trim().to_ascii_lowercase().as_str() {
        "delivered" | "read" => Some(DeliveryStatus::Delivered),
        "sent" => Some(DeliveryStatus::Sent),
        "undelivered" | "failed" | "canceled" => Some(DeliveryStatus::Undelivered),
        _ => None,
    }
}

/// Maps a Vonage SMS delivery-receipt `status`.
pub fn map_vonage_status(s: &str) -> Option<DeliveryStatus> {
    match s.trim().to_ascii_lowercase().as_str() {
        "delivered" => Some(DeliveryStatus::Delivered),
        "accepted" | "buffered" => Some(DeliveryStatus::Sent),
        "expired" | "failed" | "rejected" => Some(DeliveryStatus::Undelivered),
        _ => None,
    }
}

/// Counter: inbound webhooks refused for their signature, by `provider_kind` and
/// `reason` (`missing`, `bad`).
pub const WEBHOOK_SIGNATURE_FAILURES_TOTAL: &str = "idgate_webhook_signature_failures_total";

/// The kinds whose webhooks are signed.
pub const SIGNED_WEBHOOK_KINDS: [ProviderKind; 2] = [ProviderKind::Twilio, ProviderKind::Vonage];

/// Describes the webhook counter and creates its series at 0.
pub fn describe_metrics() {
    metrics::describe_counter!(
        WEBHOOK_SIGNATURE_FAILURES_TOTAL,
        "Delivery-report webhooks refused (401) for their signature, by provider kind and reason: missing or bad (wrong, stale, or over another body)."
    );
    for kind in SIGNED_WEBHOOK_KINDS {
        for reason in ["missing", "bad"] {
            metrics::counter!(WEBHOOK_SIGNATURE_FAILURES_TOTAL, "provider_kind" => kind.as_str(), "reason" => reason)
                .increment(0);
        }
    }
}

/// Counts one refused signature.
pub fn count_signature_failure(kind: ProviderKind, reason: &'static str) {
    metrics::counter!(WEBHOOK_SIGNATURE_FAILURES_TOTAL, "provider_kind" => kind.as_str(), "reason" => reason)
        .increment(1);
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report is neither JSON nor a form with {0}")]
    Unreadable(&'static str),
}

/// Parses a D7 report, JSON or form (whatever the content type claims).
pub fn parse_d7(body: &[u8]) -> Result<Report, ReportError> {
    let fields = fields(body);
    let id = fields("request_id").ok_or(ReportError::Unreadable("request_id"))?;
    let raw = fields("status").ok_or(ReportError::Unreadable("status"))?;
    Ok(Report {
        status: map_d7_status(&raw),
        provider_message_id: id,
        raw_status: raw,
    })
}

/// Parses a Twilio status callback (a form).
pub fn parse_twilio(body: &[u8]) -> Result<Report, ReportError> {
    let fields = fields(body);
    let id = fields("MessageSid")
        .or_else(|| fields("SmsSid"))
        .ok_or(ReportError::Unreadable("MessageSid"))?;
    let raw = fields("MessageStatus")
        .or_else(|| fields("SmsStatus"))
        .ok_or(ReportError::Unreadable("MessageStatus"))?;
    Ok(Report {
        status: map_twilio_status(&raw),
        provider_message_id: id,
        raw_status: raw,
    })
}

/// Parses a Vonage SMS delivery receipt: a JSON or form body, or (GET) the query string.
pub fn parse_vonage(body: &[u8]) -> Result<Report, ReportError> {
    let fields = fields(body);
    let id = fields("messageId")
        .or_else(|| fields("message-id"))
        .ok_or(ReportError::Unreadable("messageId"))?;
    let raw = fields("status").ok_or(ReportError::Unreadable("status"))?;
    let raw_status = match fields("err-code").filter(|c| c != "0") {
        Some(code) => format!("{raw} (err-code {code})"),
        None => raw.clone(),
    };
    Ok(Report {
        status: map_vonage_status(&raw),
        provider_message_id: id,
        raw_status,
    })
}

/// A lookup of top-level string fields in a JSON object or a form body.
fn fields(body: &[u8]) -> impl Fn(&str) -> Option<String> {
    let json: Option<serde_json::Map<String, Value>> = serde_json::from_slice(body).ok();
    let form: Vec<(String, String)> = if json.is_none() {
        form_urlencoded::parse(body).into_owned().collect()
    } else {
        Vec::new()
    };
    move |name: &str| {
        let v = match &json {
            Some(o) => match o.get(name)? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            },
            None => form.iter().find(|(k, _)| k == name)?.1.clone(),
        };
        Some(v).filter(|s| !s.trim().is_empty())
    }
}

/// What applying a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Updated {
        message_id: String,
        status: DeliveryStatus,
    },
    /// Known message, but the report adds nothing (interim after final, or unknown status).
    Ignored {
        message_id: String,
    },
    UnknownMessage,
}

/// Applies `report` to the message `provider` (on `channel`) sent.
pub async fn apply(
    store: &Arc<dyn Store>,
    channel: Channel,
    provider: &str,
    report: &Report,
    now: UnixTime,
) -> Result<Applied, StoreError> {
    let Some(m) = store
        .find_message_by_provider_id(channel, provider, &report.provider_message_id)
        .await?
    else {
        return Ok(Applied::UnknownMessage);
    };
    let Some(status) = report.status else {
        return Ok(Applied::Ignored { message_id: m.id });
    };
    let is_final = |s| matches!(s, DeliveryStatus::Delivered | DeliveryStatus::Undelivered);
    if (is_final(m.status) && !is_final(status)) || m.status == status {
        return Ok(Applied::Ignored { message_id: m.id });
    }
    let error = (status == DeliveryStatus::Undelivered)
        .then(|| format!("delivery report: {}", report.raw_status));
    store
        .set_message_status(&m.id, status, error.as_deref(), now)
        .await?;
    Ok(Applied::Updated {
        message_id: m.id,
        status,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn d7_reports_as_json_or_form() {
        let j = parse_d7(
            br#"{"request_id":"r-1","msg_id":"m","recipient":"+9477","status":"delivered"}"#,
        )
        .unwrap();
        assert_eq!(j.provider_message_id, "r-1");
        assert_eq!(j.status, Some(DeliveryStatus::Delivered));
        let f = parse_d7(b"request_id=r-2&status=un_delivered&recipient=%2B9477").unwrap();
        assert_eq!(
            (f.provider_message_id.as_str(), f.status),
            ("r-2", Some(DeliveryStatus::Undelivered))
        );
        assert_eq!(
            parse_d7(b"status=undelivered&request_id=x").unwrap().status,
            Some(DeliveryStatus::Undelivered)
        );
        assert_eq!(
            parse_d7(br#"{"request_id":"x","status":"scheduled"}"#)
                .unwrap()
                .status,
            None
        );
        assert!(parse_d7(b"{}").is_err());
        assert!(parse_d7(b"garbage").is_err());
        for s in [
            "not_reachable",
            "rejected",
            "spam_content",
            "insufficient_credit",
        ] {
            assert_eq!(map_d7_status(s), Some(DeliveryStatus::Undelivered), "{s}");
        }
        assert_eq!(map_d7_status("read"), Some(DeliveryStatus::Delivered));
        assert_eq!(map_d7_status("sent"), Some(DeliveryStatus::Sent));
    }

    #[test]
    fn vonage_receipts_as_query_form_or_json() {
        let q = parse_vonage(b"msisdn=447700900000&to=idgate&messageId=0A00000123ABCDEF&status=delivered&err-code=0&scts=2001011400&message-timestamp=2020-01-01%2012%3A00%3A00").unwrap();
        assert_eq!(
            (
                q.provider_message_id.as_str(),
                q.status,
                q.raw_status.as_str()
            ),
            (
                "0A00000123ABCDEF",
                Some(DeliveryStatus::Delivered),
                "delivered"
            )
        );
        let j = parse_vonage(br#"{"messageId":"m2","status":"rejected","err-code":"6"}"#).unwrap();
        assert_eq!(j.status, Some(DeliveryStatus::Undelivered));
        assert_eq!(j.raw_status, "rejected (err-code 6)");
        for (raw, st) in [
            ("accepted", Some(DeliveryStatus::Sent)),
            ("buffered", Some(DeliveryStatus::Sent)),
            ("expired", Some(DeliveryStatus::Undelivered)),
            ("failed", Some(DeliveryStatus::Undelivered)),
            ("unknown", None),
        ] {
            assert_eq!(map_vonage_status(raw), st, "{raw}");
        }
        assert!(parse_vonage(b"status=delivered").is_err());
    }

    #[test]
    fn twilio_callbacks() {
        let r = parse_twilio(b"MessageSid=SM1&MessageStatus=delivered&To=%2B1").unwrap();
        assert_eq!(
            (r.provider_message_id.as_str(), r.status),
            ("SM1", Some(DeliveryStatus::Delivered))
        );
        assert_eq!(
            parse_twilio(b"MessageSid=SM1&MessageStatus=failed")
                .unwrap()
                .status,
            Some(DeliveryStatus::Undelivered)
        );
        assert_eq!(
            parse_twilio(b"MessageSid=SM1&MessageStatus=queued")
                .unwrap()
                .status,
            None
        );
    }
}
