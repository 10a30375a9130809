//! `plugin.toml`: what a plugin is, provides and asks for. Parsed and checked at install, before
//! anything is stored; every problem is reported with the key it concerns.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;

/// The WIT package versions this host implements.
pub const SUPPORTED_APIS: &[&str] = &["0.1.0"];

/// A capability a plugin may ask for and a tenant may grant. Each guards one host import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Log,
    Entries,
    Kv,
    Now,
}

impl Capability {
    pub const ALL: [Capability; 4] = [
        Capability::Log,
        Capability::Entries,
        Capability::Kv,
        Capability::Now,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Log => "log",
            Capability::Entries => "entries",
            Capability::Kv => "kv",
            Capability::Now => "now",
        }
    }

    pub fn parse(s: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A content hook a plugin may implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hook {
    BeforeSave,
    AfterPublish,
}

/// Time and memory a plugin asks for; the host's defaults apply where absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskedLimits {
    pub timeout_ms: Option<u64>,
    pub memory_mib: Option<u64>,
}

/// One widget a plugin renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetDecl {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the widget's props.
    #[serde(default = "empty_object_schema")]
    pub props_schema: Value,
}

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub id: String,
    pub version: String,
    pub api: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub capabilities: BTreeSet<Capability>,
    #[serde(default)]
    pub hooks: BTreeSet<Hook>,
    #[serde(default)]
    pub limits: AskedLimits,
    #[serde(default)]
    pub widgets: Vec<WidgetDecl>,
    /// JSON Schema of the per-tenant configuration.
    #[serde(default = "empty_object_schema")]
    pub config_schema: Value,
}

fn empty_object_schema() -> Value {
    serde_json::json!({ "type": "object" })
}

impl Manifest {
    /// Parses `plugin.toml` text and checks every rule; `max_timeout_ms`/`max_memory_mib` are
    /// the host's ceilings for what a manifest may ask.
    pub fn parse(
        text: &str,
        max_timeout_ms: u64,
        max_memory_mib: u64,
    ) -> Result<Manifest, Vec<FieldError>> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            vec![FieldError::new(
                "manifest",
                "format",
                format!("plugin.toml is not valid: {}", e.message()),
            )]
        })?;
        manifest.check(max_timeout_ms, max_memory_mib)?;
        Ok(manifest)
    }

    /// The manifest as stored (JSON), read back without re-checking ceilings.
    pub fn from_stored(value: &str) -> Result<Manifest, serde_json::Error> {
        serde_json::from_str(value)
    }

    fn check(&self, max_timeout_ms: u64, max_memory_mib: u64) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_id(&self.id) {
            errors.push(FieldError::new(
                "manifest.id",
                "pattern",
                "lowercase letters, digits and `-`, 1 to 64 characters, starting with a letter",
            ));
        }
        if !is_version(&self.version) {
            errors.push(FieldError::new(
                "manifest.version",
                "pattern",
                "a semantic version such as 1.2.0",
            ));
        }
        if !SUPPORTED_APIS.contains(&self.api.as_str()) {
            errors.push(FieldError::new(
                "manifest.api",
                "supported",
                format!(
                    "this host implements zellige:plugin {}, not {}",
                    SUPPORTED_APIS.join(", "),
                    self.api
                ),
            ));
        }
        if let Some(t) = self.limits.timeout_ms
            && (t == 0 || t > max_timeout_ms)
        {
            errors.push(FieldError::new(
                "manifest.limits.timeout_ms",
                "max",
                format!("between 1 and {max_timeout_ms} (the operator's ceiling)"),
            ));
        }
        if let Some(m) = self.limits.memory_mib
            && (m == 0 || m > max_memory_mib)
        {
            errors.push(FieldError::new(
                "manifest.limits.memory_mib",
                "max",
                format!("between 1 and {max_memory_mib} (the operator's ceiling)"),
            ));
        }
        if self.widgets.is_empty() && self.hooks.is_empty() {
            errors.push(FieldError::new(
                "manifest.widgets",
                "required",
                "a plugin provides at least one widget or hook",
            ));
        }
        let mut names = BTreeSet::new();
        for (i, w) in self.widgets.iter().enumerate() {
            if !is_id(&w.name) {
                errors.push(FieldError::new(
                    format!("manifest.widgets[{i}].name"),
                    "pattern",
                    "lowercase letters, digits and `-`, starting with a letter",
                ));
            }
            if !names.insert(w.name.as_str()) {
                errors.push(FieldError::new(
                    format!("manifest.widgets[{i}].name"),
                    "unique",
                    format!("widget `{}` is declared twice", w.name),
                ));
            }
            if let Err(e) = compile_schema(&w.props_schema) {
                errors.push(FieldError::new(
                    format!("manifest.widgets[{i}].props_schema"),
                    "schema",
                    e,
                ));
            }
        }
        if let Err(e) = compile_schema(&self.config_schema) {
            errors.push(FieldError::new("manifest.config_schema", "schema", e));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn widget(&self, name: &str) -> Option<&WidgetDecl> {
        self.widgets.iter().find(|w| w.name == name)
    }

    /// Checks a configuration object against the manifest's schema.
    pub fn check_config(&self, config: &Value) -> Result<(), Vec<FieldError>> {
        validate(&self.config_schema, config, "config")
    }
}

/// Compiles a JSON Schema, or says why it cannot be.
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| format!("not a valid JSON Schema: {e}"))
}

/// Validates `value` against `schema`; errors name `prefix` plus the instance path.
pub fn validate(schema: &Value, value: &Value, prefix: &str) -> Result<(), Vec<FieldError>> {
    let validator =
        compile_schema(schema).map_err(|e| vec![FieldError::new(prefix, "schema", e)])?;
    check(&validator, value, prefix)
}

/// Validates `value` with a compiled schema; errors name `prefix` plus the instance path.
pub fn check(
    validator: &jsonschema::Validator,
    value: &Value,
    prefix: &str,
) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = validator
        .iter_errors(value)
        .take(20)
        .map(|e| {
            let pointer = e.instance_path().to_string();
            let path = pointer
                .trim_start_matches('/')
                .split('/')
                .filter(|s| !s.is_empty())
                .fold(prefix.to_owned(), |acc, seg| format!("{acc}.{seg}"));
            FieldError::new(path, "schema", e.to_string())
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_version(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.chars().all(|c| c.is_ascii_digit()))
        && s.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "calendar"
version = "0.1.0"
api = "0.1.0"
description = "مفكرة"
capabilities = ["entries", "now"]

[[widgets]]
name = "month"
[widgets.props_schema]
type = "object"
[widgets.props_schema.properties.year]
type = "integer"

[config_schema]
type = "object"
additionalProperties = false
[config_schema.properties.eventUrl]
type = "string"
"#;

    #[test]
    fn parses_a_good_manifest() {
        let m = Manifest::parse(GOOD, 1000, 128).expect("valid");
        assert_eq!(m.id, "calendar");
        assert!(m.capabilities.contains(&Capability::Entries));
        assert!(m.widget("month").is_some());
        assert!(
            m.check_config(&serde_json::json!({"eventUrl": "/e/{slug}"}))
                .is_ok()
        );
        let errors = m
            .check_config(&serde_json::json!({"other": 1}))
            .expect_err("additional property");
        assert_eq!(errors[0].rule, "schema");
    }

    #[test]
    fn names_every_bad_key() {
        let bad = GOOD
            .replace("id = \"calendar\"", "id = \"Calendar!\"")
            .replace("api = \"0.1.0\"", "api = \"9.0.0\"")
            .replace(
                "capabilities = [\"entries\", \"now\"]",
                "capabilities = [\"entries\"]\n[limits]\nmemory_mib = 4096",
            );
        let errors = Manifest::parse(&bad, 1000, 128).expect_err("invalid");
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"manifest.id"), "{paths:?}");
        assert!(paths.contains(&"manifest.api"), "{paths:?}");
        assert!(paths.contains(&"manifest.limits.memory_mib"), "{paths:?}");
        let unknown = Manifest::parse(&GOOD.replace("capabilities", "capabilites"), 1000, 128)
            .expect_err("unknown key");
        assert_eq!(unknown[0].path, "manifest");
        let bad_cap = Manifest::parse(&GOOD.replace("\"now\"", "\"network\""), 1000, 128)
            .expect_err("unknown capability");
        assert_eq!(bad_cap[0].rule, "format");
    }

    #[test]
    fn refuses_an_invalid_schema() {
        let bad = GOOD.replace(
            "[config_schema]\ntype = \"object\"",
            "[config_schema]\ntype = \"objekt\"",
        );
        let errors = Manifest::parse(&bad, 1000, 128).expect_err("invalid schema");
        assert_eq!(errors[0].path, "manifest.config_schema");
    }
}
