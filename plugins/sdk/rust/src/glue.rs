//! Between the generated bindings and the SDK's types: parses the JSON the host sends and
//! serializes what the plugin returns.

use std::marker::PhantomData;

use serde_json::Value;

use crate::bindings::exports::zellige::plugin::{hooks, widget};
use crate::bindings::zellige::plugin::types as wit;
use crate::{Context, Entry, EntryDraft, HookError, HostError, Plugin, PluginError, Rendered};

/// The type [`crate::export!`] exports: it implements the generated `Guest` traits for any
/// [`Plugin`].
#[doc(hidden)]
pub struct Exports<P>(PhantomData<P>);

impl<P: Plugin> widget::Guest for Exports<P> {
    fn render(
        ctx: wit::Context,
        name: String,
        props_json: String,
    ) -> Result<wit::Rendered, wit::PluginError> {
        render::<P>(ctx, &name, &props_json)
    }
}

impl<P: Plugin> hooks::Guest for Exports<P> {
    fn before_save(ctx: wit::Context, draft: wit::EntryDraft) -> Result<String, wit::HookError> {
        before_save::<P>(ctx, draft)
    }

    fn after_publish(ctx: wit::Context, published: wit::Entry) -> Result<(), wit::PluginError> {
        after_publish::<P>(ctx, published)
    }
}

/// `widget.render`: parses the context and the props, calls the plugin, serializes the answer.
pub(crate) fn render<P: Plugin>(
    ctx: wit::Context,
    name: &str,
    props_json: &str,
) -> Result<wit::Rendered, wit::PluginError> {
    let run = || -> Result<Rendered, PluginError> {
        let ctx = context(ctx)?;
        let props = props(props_json)?;
        P::render(&ctx, name, props)
    };
    let rendered = run().map_err(plugin_error)?;
    let data_json = serde_json::to_string(&rendered.data)
        .map_err(|e| plugin_error(PluginError::failed(format!("data: {e}"))))?;
    Ok(wit::Rendered {
        html: rendered.html,
        data_json,
        cache_seconds: rendered.cache_seconds,
    })
}

/// `hooks.before-save`.
pub(crate) fn before_save<P: Plugin>(
    ctx: wit::Context,
    draft: wit::EntryDraft,
) -> Result<String, wit::HookError> {
    let run = || -> Result<Value, HookError> {
        let ctx = context(ctx)?;
        let data = serde_json::from_str(&draft.data_json)
            .map_err(|e| HookError::Failed(format!("draft data is not JSON: {e}")))?;
        let draft = EntryDraft {
            id: draft.id,
            entry_type: draft.entry_type,
            data,
        };
        P::before_save(&ctx, draft)
    };
    match run() {
        Ok(data) => {
            serde_json::to_string(&data).map_err(|e| wit::HookError::Failed(format!("data: {e}")))
        }
        Err(HookError::Invalid(fields)) => Err(wit::HookError::Invalid(
            fields
                .into_iter()
                .map(|f| wit::FieldError {
                    path: f.path,
                    message: f.message,
                })
                .collect(),
        )),
        Err(HookError::Failed(message)) => Err(wit::HookError::Failed(message)),
    }
}

/// `hooks.after-publish`.
pub(crate) fn after_publish<P: Plugin>(
    ctx: wit::Context,
    published: wit::Entry,
) -> Result<(), wit::PluginError> {
    let run = || -> Result<(), PluginError> {
        let ctx = context(ctx)?;
        let entry = entry(published)?;
        P::after_publish(&ctx, entry)
    };
    run().map_err(plugin_error)
}

/// The call context, with its configuration parsed.
fn context(ctx: wit::Context) -> Result<Context, PluginError> {
    let config = if ctx.config_json.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_str(&ctx.config_json)
            .map_err(|e| PluginError::BadProps(format!("config: not valid JSON ({e})")))?
    };
    Ok(Context {
        tenant: ctx.tenant,
        locale: ctx.locale,
        default_locale: ctx.default_locale,
        locales: ctx.locales,
        config,
    })
}

/// The props: a JSON object (an empty or `null` props text counts as `{}`).
fn props(props_json: &str) -> Result<Value, PluginError> {
    if props_json.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str(props_json) {
        Ok(Value::Null) => Ok(Value::Object(serde_json::Map::new())),
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(PluginError::BadProps("props: must be a JSON object".into())),
        Err(e) => Err(PluginError::BadProps(format!(
            "props: not valid JSON ({e})"
        ))),
    }
}

/// A host entry with its data parsed.
pub(crate) fn entry(raw: wit::Entry) -> Result<Entry, HostError> {
    let data = serde_json::from_str(&raw.data_json)
        .map_err(|e| HostError::Unavailable(format!("entry {}: data is not JSON ({e})", raw.id)))?;
    Ok(Entry {
        id: raw.id,
        entry_type: raw.entry_type,
        slug: raw.slug,
        locale: raw.locale,
        published_at: raw.published_at,
        data,
    })
}

pub(crate) fn plugin_error(error: PluginError) -> wit::PluginError {
    match error {
        PluginError::BadProps(m) => wit::PluginError::BadProps(m),
        PluginError::UnknownWidget(m) => wit::PluginError::UnknownWidget(m),
        PluginError::Failed(m) => wit::PluginError::Failed(m),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn host_error(error: wit::HostError) -> HostError {
    match error {
        wit::HostError::Denied(m) => HostError::Denied(m),
        wit::HostError::Invalid(m) => HostError::Invalid(m),
        wit::HostError::Limit(m) => HostError::Limit(m),
        wit::HostError::Unavailable(m) => HostError::Unavailable(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Echo;

    impl Plugin for Echo {
        fn render(ctx: &Context, name: &str, props: Value) -> Result<Rendered, PluginError> {
            match name {
                "echo" => Ok(Rendered::new(format!("<p>{}</p>", ctx.tenant))
                    .with_data(json!({"props": props, "config": ctx.config}))
                    .cache_for(7)),
                other => Err(PluginError::unknown_widget(other)),
            }
        }

        fn before_save(_ctx: &Context, draft: EntryDraft) -> Result<Value, HookError> {
            if draft.data.get("title").is_none() {
                return Err(HookError::invalid("title", "required"));
            }
            Ok(draft.data)
        }
    }

    fn wit_context(config_json: &str) -> wit::Context {
        wit::Context {
            tenant: "marrakech-safi".into(),
            locale: "ar".into(),
            default_locale: "ar".into(),
            locales: vec!["ar".into(), "fr".into()],
            config_json: config_json.into(),
        }
    }

    #[test]
    fn render_parses_and_serializes() {
        let out = render::<Echo>(wit_context(r#"{"a":1}"#), "echo", r#"{"x":"نص"}"#).unwrap();
        assert_eq!(out.html, "<p>marrakech-safi</p>");
        assert_eq!(out.cache_seconds, 7);
        let data: Value = serde_json::from_str(&out.data_json).unwrap();
        assert_eq!(data, json!({"props": {"x": "نص"}, "config": {"a": 1}}));
    }

    #[test]
    fn empty_props_and_config_are_empty_objects() {
        let out = render::<Echo>(wit_context(""), "echo", "").unwrap();
        let data: Value = serde_json::from_str(&out.data_json).unwrap();
        assert_eq!(data, json!({"props": {}, "config": {}}));
    }

    #[test]
    fn bad_json_is_bad_props() {
        let err = render::<Echo>(wit_context("{}"), "echo", "{nope").unwrap_err();
        assert!(
            matches!(err, wit::PluginError::BadProps(m) if m.starts_with("props: not valid JSON"))
        );
        let err = render::<Echo>(wit_context("{}"), "echo", "[1]").unwrap_err();
        assert!(
            matches!(err, wit::PluginError::BadProps(m) if m == "props: must be a JSON object")
        );
        let err = render::<Echo>(wit_context("{"), "echo", "{}").unwrap_err();
        assert!(matches!(err, wit::PluginError::BadProps(m) if m.starts_with("config: ")));
        let err = render::<Echo>(wit_context("{}"), "nope", "{}").unwrap_err();
        assert!(matches!(err, wit::PluginError::UnknownWidget(m) if m == "nope"));
    }

    #[test]
    fn hooks_default_and_custom() {
        let draft = |data: &str| wit::EntryDraft {
            id: None,
            entry_type: "article".into(),
            data_json: data.into(),
        };
        let ok = before_save::<Echo>(wit_context("{}"), draft(r#"{"title":"t"}"#)).unwrap();
        assert_eq!(ok, r#"{"title":"t"}"#);
        let err = before_save::<Echo>(wit_context("{}"), draft("{}")).unwrap_err();
        assert!(matches!(err, wit::HookError::Invalid(f) if f[0].path == "title"));

        let published = wit::Entry {
            id: "1".into(),
            entry_type: "article".into(),
            slug: "s".into(),
            locale: "ar".into(),
            published_at: Some("2017-07-06T00:00:00Z".into()),
            data_json: "{}".into(),
        };
        after_publish::<Echo>(wit_context("{}"), published).unwrap();
    }
}
