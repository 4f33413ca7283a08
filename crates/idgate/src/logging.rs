//! Structured logs: human text in dev, JSON for collectors. `RUST_LOG` overrides the
//! configured level for a one-off debugging session.
//!
//! Every field of a text line — the message included — goes through [`SafeFields`],
//! which escapes control characters (`\n`, `\r`, ESC, …), Unicode line separators and
//! bidi overrides: a value from a request (a delivery report's status, a header) can
//! neither start a forged line nor rewrite the terminal. JSON lines are escaped by the
//! JSON encoder.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;

use crate::config::{LogConfig, LogFormat};

pub fn init(config: &LogConfig) {
    init_to(config, std::io::stderr);
}

/// [`init`] with another destination (tests capture the log this way).
pub fn init_to<W>(config: &LogConfig, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second init (tests starting several servers) is harmless; ignore it.
    let _ = match config.format {
        LogFormat::Text => builder.fmt_fields(SafeFields).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Formats fields as `name=value`, with every control character escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeFields;

impl<'a> MakeVisitor<Writer<'a>> for SafeFields {
    type Visitor = SafeVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        SafeVisitor {
            writer: target,
            is_empty: true,
            result: Ok(()),
        }
    }
}

pub struct SafeVisitor<'a> {
    writer: Writer<'a>,
    is_empty: bool,
    result: fmt::Result,
}

impl Visit for SafeVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        if !self.is_empty {
            self.result = self.writer.write_char(' ');
        }
        self.is_empty = false;
        let mut out = Escaping(&mut self.writer);
        self.result = self.result.and_then(|()| match name {
            "message" => write!(out, "{value:?}"),
            n => write!(out, "{}={value:?}", n.strip_prefix("r#").unwrap_or(n)),
        });
    }
}

impl VisitOutput<fmt::Result> for SafeVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for SafeVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// A writer that escapes what could break a log line or a terminal.
struct Escaping<'w, W: fmt::Write>(&'w mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c if needs_escape(c) => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Control characters (C0, DEL, C1), line/paragraph separators and bidi controls.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn no_field_can_forge_a_line() {
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(SafeFields)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let evil =
                "ok\n2026-01-01T00:00:00Z  INFO forged: admin signed in\r\x1b[2K\u{2028}\u{202e}x";
            tracing::warn!(raw = %evil, dbg = ?evil, plain = evil, "report {evil}");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(!out.contains('\r') && !out.contains('\x1b'), "{out}");
        assert!(
            !out.contains('\u{2028}') && !out.contains('\u{202e}'),
            "{out}"
        );
        assert!(out.contains(r"raw=ok\n2026-01-01T00:00:00Z"), "{out}");
        assert!(out.contains(r"report ok\n2026"), "{out}");
        assert!(out.contains(r"\u{1b}[2K\u{2028}\u{202e}x"), "{out}");
        assert!(out.ends_with('\n'));
    }
}
