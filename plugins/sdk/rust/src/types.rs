//! The values a plugin receives and returns, in plain Rust with JSON already parsed.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who is calling and how: built by the host for each call.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The tenant's slug, e.g. `marrakech-safi`.
    pub tenant: String,
    /// The locale the reader asked for (one of `locales`), e.g. `ar`.
    pub locale: String,
    /// The tenant's default locale.
    pub default_locale: String,
    /// Every locale the tenant publishes in.
    pub locales: Vec<String>,
    /// The tenant's configuration of this plugin, already validated by the host against the
    /// manifest's `config_schema` (an empty object when the tenant configured nothing).
    pub config: Value,
}

impl Context {
    /// A context for `tenant` in `locale`, with that locale as the only one and no
    /// configuration. Meant for tests; the host builds the real one.
    pub fn new(tenant: impl Into<String>, locale: impl Into<String>) -> Self {
        let locale = locale.into();
        Self {
            tenant: tenant.into(),
            default_locale: locale.clone(),
            locales: vec![locale.clone()],
            locale,
            config: Value::Object(serde_json::Map::new()),
        }
    }

    /// The same context with this configuration.
    #[must_use]
    pub fn with_config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// The same context with these tenant locales, the first being the default.
    #[must_use]
    pub fn with_locales(mut self, locales: &[&str]) -> Self {
        self.locales = locales.iter().map(|l| (*l).to_owned()).collect();
        if let Some(first) = locales.first() {
            (*first).clone_into(&mut self.default_locale);
        }
        self
    }

    /// The configuration as a typed value. A configuration that does not fit `T` gives
    /// [`PluginError::BadProps`] naming the configuration key, e.g. `config.links[0].url: …`.
    pub fn config_as<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        let value = match &self.config {
            Value::Null => Value::Object(serde_json::Map::new()),
            other => other.clone(),
        };
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            if path == "." {
                PluginError::BadProps(format!("config: {message}"))
            } else {
                PluginError::BadProps(format!("config.{path}: {message}"))
            }
        })
    }

    /// The writing direction of the call's locale, `rtl` or `ltr`, for the `dir` attribute.
    pub fn dir(&self) -> &'static str {
        crate::dir_of(&self.locale)
    }
}

/// One rendered widget.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// An HTML fragment. The host sanitizes it (no script, no event handlers); `dir` and
    /// `lang` are kept. Escape every value you insert with [`crate::html_escape`].
    pub html: String,
    /// Structured data for frontends that render the widget themselves (`null` for none).
    pub data: Value,
    /// How long the answer may be reused, in seconds (0: not at all).
    pub cache_seconds: u32,
}

impl Rendered {
    /// A rendering with this HTML, no data and no caching.
    pub fn new(html: impl Into<String>) -> Self {
        Self {
            html: html.into(),
            data: Value::Null,
            cache_seconds: 0,
        }
    }

    /// The same rendering with this structured data.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// The same rendering, reusable for `seconds`.
    #[must_use]
    pub fn cache_for(mut self, seconds: u32) -> Self {
        self.cache_seconds = seconds;
        self
    }
}

/// Why a widget (or the `after-publish` hook) failed. The host turns it into the GraphQL
/// error `PLUGIN_ERROR`, except `BadProps`, which becomes `BAD_USER_INPUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// The props (or the configuration) do not fit: the message says which one and why.
    BadProps(String),
    /// The plugin has no widget of this name (the message is the name).
    UnknownWidget(String),
    /// Anything else.
    Failed(String),
}

impl PluginError {
    /// Prop `prop` breaks `rule`, e.g. `bad_prop("month", "must be an integer from 1 to 12")`.
    pub fn bad_prop(prop: &str, rule: impl fmt::Display) -> Self {
        Self::BadProps(format!("{prop}: {rule}"))
    }

    /// Configuration key `path` breaks `rule`, e.g. `bad_config("ads", "add at least one ad")`.
    pub fn bad_config(path: &str, rule: impl fmt::Display) -> Self {
        Self::BadProps(format!("config.{path}: {rule}"))
    }

    /// The plugin has no widget called `name`.
    pub fn unknown_widget(name: &str) -> Self {
        Self::UnknownWidget(name.to_owned())
    }

    /// Any other failure, with a message for the operator's log.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadProps(m) => write!(f, "bad props: {m}"),
            Self::UnknownWidget(name) => write!(f, "unknown widget: {name}"),
            Self::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for PluginError {}

impl From<HostError> for PluginError {
    /// A refused host call fails the widget, saying what the host said.
    fn from(error: HostError) -> Self {
        Self::Failed(format!("host call refused: {error}"))
    }
}

/// A problem with one field of an entry, reported by a `before-save` hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path, e.g. `title` or `geo.lat`.
    pub path: String,
    /// What is wrong, for the editor.
    pub message: String,
}

/// Why a `before-save` hook refused an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookError {
    /// The entry is invalid; the editor sees `BAD_USER_INPUT` with these fields.
    Invalid(Vec<FieldError>),
    /// The hook itself failed (`PLUGIN_ERROR`).
    Failed(String),
}

impl HookError {
    /// The entry is invalid because of one field.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            path: path.into(),
            message: message.into(),
        }])
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(fields) => {
                f.write_str("invalid entry:")?;
                for field in fields {
                    write!(f, " {}: {};", field.path, field.message)?;
                }
                Ok(())
            }
            Self::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for HookError {}

impl From<HostError> for HookError {
    /// A refused host call fails the hook, saying what the host said.
    fn from(error: HostError) -> Self {
        Self::Failed(format!("host call refused: {error}"))
    }
}

impl From<PluginError> for HookError {
    /// Lets a hook reuse helpers that return [`PluginError`].
    fn from(error: PluginError) -> Self {
        Self::Failed(error.to_string())
    }
}

/// An entry about to be saved, in the stored shape: localized fields are objects keyed by
/// locale.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryDraft {
    /// Absent on create.
    pub id: Option<String>,
    /// The content type, e.g. `event`.
    pub entry_type: String,
    /// The entry's fields (a JSON object).
    pub data: Value,
}

/// Why the host refused an import call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The tenant has not granted the capability this import needs.
    Denied(String),
    /// The arguments are wrong (unknown type, bad filter, key too long …).
    Invalid(String),
    /// A per-call or per-plugin quota is used up.
    Limit(String),
    /// The host could not answer (database unavailable …); the call may be retried.
    Unavailable(String),
}

impl HostError {
    /// The kind of refusal as written in the WIT contract: `denied`, `invalid`, `limit` or
    /// `unavailable`. Handy for reporting errors as data.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Denied(_) => "denied",
            Self::Invalid(_) => "invalid",
            Self::Limit(_) => "limit",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// The host's explanation.
    pub fn message(&self) -> &str {
        match self {
            Self::Denied(m) | Self::Invalid(m) | Self::Limit(m) | Self::Unavailable(m) => m,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for HostError {}

/// A text a tenant configures either once (`"Our channel"`) or per locale
/// (`{"ar": "قناتنا", "fr": "Notre chaîne"}`), as configuration schemas commonly allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocalizedText {
    /// The same text in every locale.
    Plain(String),
    /// One text per locale.
    ByLocale(BTreeMap<String, String>),
}

impl LocalizedText {
    /// The text for the call's locale, else the tenant's default locale, else Arabic, else any
    /// non-empty translation, else the empty string.
    pub fn resolve(&self, ctx: &Context) -> &str {
        self.resolve_in(&ctx.locale, &ctx.default_locale)
    }

    /// The text for `locale`, else `fallback`, else Arabic, else any non-empty translation.
    pub fn resolve_in(&self, locale: &str, fallback: &str) -> &str {
        match self {
            Self::Plain(text) => text,
            Self::ByLocale(map) => [locale, fallback, "ar"]
                .iter()
                .filter_map(|l| map.get(*l))
                .chain(map.values())
                .find(|t| !t.trim().is_empty())
                .map_or("", String::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[allow(dead_code)]
        links: Vec<Link>,
    }

    #[derive(Debug, Deserialize)]
    struct Link {
        #[allow(dead_code)]
        url: String,
    }

    #[test]
    fn config_errors_name_the_key() {
        let ctx = Context::new("t", "ar").with_config(json!({"links": [{"url": 3}]}));
        let err = ctx.config_as::<Config>().unwrap_err();
        let PluginError::BadProps(message) = err else {
            panic!("expected bad props")
        };
        assert!(message.starts_with("config.links[0].url: "), "{message}");

        let ctx = Context::new("t", "ar").with_config(json!({"nope": 1}));
        let message = ctx.config_as::<Config>().unwrap_err().to_string();
        assert!(message.contains("nope"), "{message}");
    }

    #[test]
    fn localized_text_falls_back() {
        let ctx = Context::new("t", "fr").with_locales(&["ar", "fr"]);
        let text: LocalizedText = serde_json::from_value(json!({"ar": "قناتنا"})).unwrap();
        assert_eq!(text.resolve(&ctx), "قناتنا");
        let text: LocalizedText =
            serde_json::from_value(json!({"ar": "قناتنا", "fr": "Notre chaîne"})).unwrap();
        assert_eq!(text.resolve(&ctx), "Notre chaîne");
        let text: LocalizedText = serde_json::from_value(json!("Plain")).unwrap();
        assert_eq!(text.resolve(&ctx), "Plain");
        let text: LocalizedText = serde_json::from_value(json!({"en": "Only English"})).unwrap();
        assert_eq!(text.resolve(&ctx), "Only English");
    }

    #[test]
    fn errors_display_their_kind() {
        assert_eq!(
            PluginError::bad_prop("month", "must be an integer from 1 to 12").to_string(),
            "bad props: month: must be an integer from 1 to 12"
        );
        let host = HostError::Denied("capability `kv` not granted".into());
        assert_eq!(host.kind(), "denied");
        assert_eq!(
            PluginError::from(host).to_string(),
            "failed: host call refused: denied: capability `kv` not granted"
        );
    }
}
