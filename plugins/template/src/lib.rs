//! `hello`: the smallest useful Zellige plugin. Copy this folder to start a new plugin.
//!
//! Widget `greeting` greets `props.name` (or everyone) in the reader's locale: Arabic
//! `مرحبا` or French `Bonjour`.

use serde::Deserialize;
use zellige_plugin::{Context, Plugin, PluginError, Rendered, html_escape, json, parse_props};

/// The plugin. It has no state: the host runs each call in a fresh instance.
pub struct Hello;

/// The props of `greeting`, as its `props_schema` in `plugin.toml` describes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreetingProps {
    /// Who to greet.
    pub name: Option<String>,
}

impl Plugin for Hello {
    fn render(
        ctx: &Context,
        name: &str,
        props: zellige_plugin::Value,
    ) -> Result<Rendered, PluginError> {
        match name {
            "greeting" => greeting(ctx, parse_props(props)?),
            other => Err(PluginError::unknown_widget(other)),
        }
    }
}

zellige_plugin::export!(Hello);

/// Renders the greeting. Kept apart from `render` so that tests can call it directly.
pub fn greeting(ctx: &Context, props: GreetingProps) -> Result<Rendered, PluginError> {
    let name = props.name.as_deref().map(str::trim);
    if name.is_some_and(|n| n.is_empty() || n.chars().count() > 100) {
        return Err(PluginError::bad_prop("name", "must be 1 to 100 characters"));
    }
    let french = ctx.locale.starts_with("fr");
    let (lang, text) = match (french, name) {
        (false, Some(name)) => ("ar", format!("مرحبا، <bdi>{}</bdi>!", html_escape(name))),
        (false, None) => ("ar", "مرحبا بالجميع!".to_owned()),
        (true, Some(name)) => ("fr", format!("Bonjour <bdi>{}</bdi> !", html_escape(name))),
        (true, None) => ("fr", "Bonjour à toutes et à tous !".to_owned()),
    };
    let html = format!(
        "<p class=\"zh-greeting\" dir=\"{}\" lang=\"{lang}\">{text}</p>",
        zellige_plugin::dir_of(lang)
    );
    Ok(Rendered::new(html)
        .with_data(json!({ "locale": lang, "name": name }))
        .cache_for(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_in_arabic_by_default() {
        let ctx = Context::new("marrakech-safi", "ar");
        let out = Hello::render(&ctx, "greeting", json!({"name": "Fatima"})).unwrap();
        assert_eq!(
            out.html,
            "<p class=\"zh-greeting\" dir=\"rtl\" lang=\"ar\">مرحبا، <bdi>Fatima</bdi>!</p>"
        );
        assert_eq!(out.data, json!({"locale": "ar", "name": "Fatima"}));
        assert_eq!(out.cache_seconds, 3600);
    }

    #[test]
    fn greets_in_french() {
        let ctx = Context::new("marrakech-safi", "fr");
        let out = Hello::render(&ctx, "greeting", json!({})).unwrap();
        assert!(out.html.contains("dir=\"ltr\" lang=\"fr\""));
        assert!(out.html.contains("Bonjour"));
    }

    #[test]
    fn escapes_the_name() {
        let ctx = Context::new("marrakech-safi", "ar");
        let out = Hello::render(&ctx, "greeting", json!({"name": "<script>"})).unwrap();
        assert!(out.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn refuses_bad_props_and_widgets() {
        let ctx = Context::new("marrakech-safi", "ar");
        assert!(matches!(
            Hello::render(&ctx, "greeting", json!({"name": 3})),
            Err(PluginError::BadProps(m)) if m.starts_with("name:")
        ));
        assert!(matches!(
            Hello::render(&ctx, "greeting", json!({"name": " "})),
            Err(PluginError::BadProps(m)) if m == "name: must be 1 to 100 characters"
        ));
        assert!(matches!(
            Hello::render(&ctx, "farewell", json!({})),
            Err(PluginError::UnknownWidget(_))
        ));
    }
}
