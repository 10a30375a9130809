//! The `widget` and `widgets` query fields (SPEC §6–7): plugin widgets rendered by the plugin
//! host for the request's tenant. Answers carry their own lifetime (`cacheSeconds`), so a
//! request that renders a widget is kept out of the response cache; the host caches the widget
//! answer itself for at most that long (and, when the plugin reads entries, only until the
//! tenant's next write).

use std::sync::atomic::Ordering;

use async_graphql::Value;
use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, Object, TypeRef};

use super::{RequestCtx, coded, with_fields};
use crate::access::Action;
use crate::error::ErrorCode;
use crate::plugins::{PluginError, WidgetInfo, WidgetOutput};

fn plugin_error(e: PluginError) -> async_graphql::Error {
    let code = e.code();
    if code == ErrorCode::Internal {
        tracing::error!(error = ?e, "internal error in a plugin call");
        return coded(code, "internal error");
    }
    if matches!(
        code,
        ErrorCode::PluginError | ErrorCode::PluginTimeout | ErrorCode::PluginLimit
    ) {
        tracing::warn!(error = %e, "plugin call failed");
    }
    with_fields(coded(code, e.to_string()), e.fields())
}

fn host(rc: &RequestCtx) -> async_graphql::Result<&crate::plugins::PluginHost> {
    rc.plugins.as_ref().ok_or_else(|| {
        coded(
            ErrorCode::PluginError,
            "plugins are not available on this server",
        )
    })
}

/// A widget renders published content: whoever may read published content may render it.
fn authorize(rc: &RequestCtx, plugin: &str) -> async_graphql::Result<()> {
    rc.authorize(&format!("plugin:{plugin}"), Action::Read)
}

pub fn types() -> [Object; 2] {
    let widget = Object::new("Widget")
        .description("A rendered plugin widget: sanitized HTML, structured data, and how long the answer may be reused.")
        .field(Field::new("html", TypeRef::named_nn(TypeRef::STRING), |ctx| {
            FieldFuture::new(async move {
                let w = ctx.parent_value.try_downcast_ref::<std::sync::Arc<WidgetOutput>>()?;
                Ok(Some(FieldValue::value(Value::from(w.html.clone()))))
            })
        }))
        .field(Field::new("data", TypeRef::named("JSON"), |ctx| {
            FieldFuture::new(async move {
                let w = ctx.parent_value.try_downcast_ref::<std::sync::Arc<WidgetOutput>>()?;
                Ok(Some(FieldValue::value(
                    Value::from_json(w.data.clone()).unwrap_or(Value::Null),
                )))
            })
        }))
        .field(Field::new("cacheSeconds", TypeRef::named_nn(TypeRef::INT), |ctx| {
            FieldFuture::new(async move {
                let w = ctx.parent_value.try_downcast_ref::<std::sync::Arc<WidgetOutput>>()?;
                Ok(Some(FieldValue::value(Value::from(w.cache_seconds))))
            })
        }));
    let info = Object::new("WidgetInfo")
        .description("A widget enabled for this tenant.")
        .field(info_field(
            "plugin",
            TypeRef::named_nn(TypeRef::STRING),
            |w| Value::from(w.plugin.clone()),
        ))
        .field(info_field(
            "name",
            TypeRef::named_nn(TypeRef::STRING),
            |w| Value::from(w.name.clone()),
        ))
        .field(info_field(
            "description",
            TypeRef::named_nn(TypeRef::STRING),
            |w| Value::from(w.description.clone()),
        ))
        .field(info_field("propsSchema", TypeRef::named_nn("JSON"), |w| {
            Value::from_json(w.props_schema.clone()).unwrap_or(Value::Null)
        }));
    [widget, info]
}

fn info_field(name: &'static str, ty: TypeRef, get: fn(&WidgetInfo) -> Value) -> Field {
    Field::new(name, ty, move |ctx| {
        FieldFuture::new(async move {
            let w = ctx.parent_value.try_downcast_ref::<WidgetInfo>()?;
            Ok(Some(FieldValue::value(get(w))))
        })
    })
}

pub fn widget_field() -> Field {
    Field::new("widget", TypeRef::named_nn("Widget"), |ctx| {
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            rc.uncacheable.store(true, Ordering::Relaxed);
            let plugin = ctx.args.try_get("plugin")?.string()?.to_owned();
            let name = ctx.args.try_get("name")?.string()?.to_owned();
            authorize(rc, &plugin)?;
            let props = match ctx.args.get("props") {
                Some(v) if !v.is_null() => v.deserialize::<serde_json::Value>()?,
                _ => serde_json::json!({}),
            };
            let locale = match ctx.args.get("locale") {
                Some(v) if !v.is_null() => {
                    let l = v.string()?.to_owned();
                    if rc.tenant.locales().contains(&l) {
                        l
                    } else {
                        rc.tenant.default_locale().to_owned()
                    }
                }
                _ => props
                    .get("locale")
                    .and_then(|l| l.as_str())
                    .filter(|l| rc.tenant.locales().iter().any(|x| x == l))
                    .unwrap_or(rc.tenant.default_locale())
                    .to_owned(),
            };
            let out = host(rc)?
                .render(&rc.tenant, rc.event_seq, &plugin, &name, props, &locale)
                .await
                .map_err(plugin_error)?;
            Ok(Some(FieldValue::owned_any(out)))
        })
    })
    .argument(InputValue::new("plugin", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new("name", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new("props", TypeRef::named("JSON")))
    .argument(InputValue::new("locale", TypeRef::named(TypeRef::STRING)))
    .description("Renders a widget of a plugin this tenant enabled. `props` are checked against the widget's props schema; `locale` (or `props.locale`) picks the language, falling back to the tenant's default.")
}

pub fn widgets_field() -> Field {
    Field::new("widgets", TypeRef::named_nn_list_nn("WidgetInfo"), |ctx| {
        FieldFuture::new(async move {
            let rc = ctx.data::<RequestCtx>()?;
            rc.uncacheable.store(true, Ordering::Relaxed);
            authorize(rc, "*")?;
            let list = host(rc)?.widgets(&rc.tenant).await.map_err(plugin_error)?;
            Ok(Some(FieldValue::list(
                list.into_iter().map(FieldValue::owned_any),
            )))
        })
    })
    .description("The widgets enabled for this tenant: plugin, name, description and props schema.")
}
