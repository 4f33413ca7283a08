//! The console's building blocks: a page frame and the components pages are made of
//! (forms, tables, panels), each an askama template rendered to HTML and placed in the
//! page. All values are escaped by askama.

use askama::Template;

use crate::pages::Brand;

/// The navigation: (key, label, href).
pub const NAV: [(&str, &str, &str); 10] = [
    ("overview", "Overview", "/console"),
    ("sms", "SMS provider", "/console/channels/sms"),
    (
        "whatsapp",
        "WhatsApp provider",
        "/console/channels/whatsapp",
    ),
    ("otp", "Connections › SMS OTP", "/console/otp"),
    ("test-numbers", "Test numbers", "/console/test-numbers"),
    ("applications", "Applications", "/console/applications"),
    ("users", "Users", "/console/users"),
    ("messages", "Messages", "/console/messages"),
    ("audit", "Audit log", "/console/audit"),
    ("tokens", "Admin tokens", "/console/admin-tokens"),
];

#[derive(Template)]
#[template(path = "console/page.html")]
pub struct Page<'a> {
    pub brand: &'a Brand,
    pub title: &'a str,
    pub active: &'a str,
    pub nav: &'static [(&'static str, &'static str, &'static str)],
    pub username: &'a str,
    pub csrf: &'a str,
    /// (`info` | `error`, text).
    pub notice: Option<(&'static str, String)>,
    pub sections: Vec<String>,
}

impl Page<'_> {
    pub fn is_active(&self, key: &str) -> bool {
        key == self.active
    }
}

/// One form field, with its value (the user's input after an error) and its error.
#[derive(Debug, Clone, Default)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `password`, `number`, `tel`, `url`, `textarea`, `select`, `checkbox`.
    pub kind: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<(String, String)>,
    pub hint: Option<String>,
    pub error: Option<String>,
    /// For write-only secrets: a value is stored ("set — replace?").
    pub secret_set: bool,
    /// Live validation kind for console.js (`payload`, `message`).
    pub validate: Option<&'static str>,
    pub rows: u32,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, kind: &'static str) -> Self {
        Self {
            name,
            label,
            kind,
            rows: 8,
            ..Default::default()
        }
    }
    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = v.into();
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
    pub fn checked(mut self, c: bool) -> Self {
        self.checked = c;
        self
    }
    pub fn options(mut self, o: &[(&str, &str)]) -> Self {
        self.options = o
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect();
        self
    }
    pub fn secret(mut self, set: bool) -> Self {
        self.secret_set = set;
        self
    }
    pub fn validate(mut self, kind: &'static str) -> Self {
        self.validate = Some(kind);
        self
    }
    pub fn rows(mut self, r: u32) -> Self {
        self.rows = r;
        self
    }
}

#[derive(Template, Default)]
#[template(path = "console/form.html")]
pub struct Form {
    pub id: String,
    pub title: String,
    pub note: Option<String>,
    pub action: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
    pub fields: Vec<Field>,
    pub submit: String,
    pub danger: bool,
}

impl Form {
    /// Puts `error` next to the field named `field` (or, if none matches, on the first).
    pub fn with_error(mut self, field: &str, error: String) -> Self {
        let key = field
            .rsplit(['.', '['])
            .next()
            .unwrap_or(field)
            .trim_end_matches(']');
        let pos = self
            .fields
            .iter()
            .position(|f| f.name == field || f.name == key)
            .unwrap_or(0);
        if let Some(f) = self.fields.get_mut(pos) {
            f.error = Some(error);
        }
        self
    }
}

/// A small form in a table cell (one button).
#[derive(Debug, Clone)]
pub struct MiniForm {
    pub action: String,
    pub label: String,
    pub csrf: String,
    pub hidden: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub class: Option<&'static str>,
    pub form: Option<MiniForm>,
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Self {
        Self {
            text: t.into(),
            ..Default::default()
        }
    }
    pub fn link(t: impl Into<String>, href: impl Into<String>) -> Self {
        Self {
            text: t.into(),
            href: Some(href.into()),
            ..Default::default()
        }
    }
    pub fn class(t: impl Into<String>, class: &'static str) -> Self {
        Self {
            text: t.into(),
            class: Some(class),
            ..Default::default()
        }
    }
    pub fn button(action: impl Into<String>, label: impl Into<String>, csrf: &str) -> Self {
        Self {
            form: Some(MiniForm {
                action: action.into(),
                label: label.into(),
                csrf: csrf.to_string(),
                hidden: Vec::new(),
            }),
            ..Default::default()
        }
    }
    pub fn button_with(
        action: impl Into<String>,
        label: impl Into<String>,
        csrf: &str,
        hidden: Vec<(String, String)>,
    ) -> Self {
        Self {
            form: Some(MiniForm {
                action: action.into(),
                label: label.into(),
                csrf: csrf.to_string(),
                hidden,
            }),
            ..Default::default()
        }
    }
}

#[derive(Template, Default)]
#[template(path = "console/table.html")]
pub struct Table {
    pub title: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    pub empty: String,
    pub more: Option<(String, String)>,
}

#[derive(Template, Default)]
#[template(path = "console/panel.html")]
pub struct Panel {
    pub title: String,
    pub note: Option<String>,
    pub items: Vec<(String, String)>,
    pub code: Option<String>,
    /// (href, label) links shown as tabs/pills; `current` marks one.
    pub links: Vec<(String, String)>,
    pub current: String,
    pub highlight: bool,
}

/// Renders a component to HTML (an empty string, logged, if askama fails).
pub fn html(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "console component rendering failed");
        String::new()
    })
}
