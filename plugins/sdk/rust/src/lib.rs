//! Write Zellige plugins in safe, idiomatic Rust.
//!
//! A Zellige plugin is a WebAssembly component of the `zellige:plugin@0.1.0` world
//! (`plugins/wit/v0.1.0/plugin.wit`). This crate hides the generated bindings: a plugin is a
//! type that implements [`Plugin`], exported with [`export!`]:
//!
//! ```
//! use zellige_plugin::{Context, Plugin, PluginError, Rendered, html_escape};
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn render(ctx: &Context, name: &str, props: serde_json::Value) -> Result<Rendered, PluginError> {
//!         match name {
//!             "greeting" => {
//!                 let who = props.get("name").and_then(|v| v.as_str()).unwrap_or("world");
//!                 let html = format!(
//!                     "<p dir=\"{}\" lang=\"{}\">Hello, {}!</p>",
//!                     ctx.dir(),
//!                     html_escape(&ctx.locale),
//!                     html_escape(who)
//!                 );
//!                 Ok(Rendered::new(html).cache_for(60))
//!             }
//!             other => Err(PluginError::unknown_widget(other)),
//!         }
//!     }
//! }
//!
//! zellige_plugin::export!(Hello);
//! ```
//!
//! The host imports are wrapped in plain functions: [`log`], [`entries`], [`kv`] and
//! [`now_ms`]. Each is guarded by a capability the tenant must grant; a refused call returns
//! [`HostError::Denied`] (or does nothing, for `log`).
//!
//! Built for `wasm32-wasip2`, the functions call the host. Built natively (for `cargo test`),
//! they call the mock host of the [`testing`] module instead, so a plugin's whole `render` can be
//! unit-tested without a WebAssembly runtime.

mod glue;
mod host;
mod types;

pub mod entries;
pub mod html;
pub mod kv;
pub mod log;
pub mod props;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod time;

pub use html::{dir_of, encode_uri_component, fill_template, html_escape, is_safe_url};
pub use props::parse_props;
pub use types::{
    Context, EntryDraft, FieldError, HookError, HostError, LocalizedText, PluginError, Rendered,
};

pub use entries::Entry;
/// JSON values, as props, configuration and entry data are passed. Re-exported so a plugin
/// does not need to keep its own `serde_json` in step with the SDK's.
pub use serde_json::{self, Value, json};

/// The generated bindings of the `zellige:plugin@0.1.0` world. Not part of the SDK's API: use
/// the safe wrappers instead.
#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all, clippy::pedantic)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../../wit/v0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_raw",
        default_bindings_module: "zellige_plugin::bindings",
    });
}

/// What a plugin does. Implement [`Plugin::render`]; the hooks have defaults that change
/// nothing, so a widget-only plugin implements nothing else.
///
/// The methods take no `self`: the host runs every call in a fresh instance, so a plugin has no
/// state between calls. Keep state in [`kv`] instead.
pub trait Plugin: 'static {
    /// Renders widget `name` with `props` (a JSON object, `{}` when the caller gave none).
    ///
    /// Return [`PluginError::BadProps`] (see [`PluginError::bad_prop`]) for props that do not
    /// fit, and [`PluginError::UnknownWidget`] for a name the plugin does not have.
    fn render(ctx: &Context, name: &str, props: Value) -> Result<Rendered, PluginError>;

    /// Called before an entry is saved: return its data (changed or not) to let the save go
    /// on, or an error to refuse it. The default returns the data unchanged.
    ///
    /// Only called when the manifest lists the `before-save` hook.
    fn before_save(ctx: &Context, draft: EntryDraft) -> Result<Value, HookError> {
        let _ = ctx;
        Ok(draft.data)
    }

    /// Called after an entry was published, at least once: it must be idempotent. The default
    /// does nothing.
    ///
    /// Only called when the manifest lists the `after-publish` hook.
    fn after_publish(ctx: &Context, entry: Entry) -> Result<(), PluginError> {
        let _ = (ctx, entry);
        Ok(())
    }
}

/// Milliseconds since the Unix epoch, UTC: the only clock a plugin can read.
///
/// Needs the `now` capability. The import has no error to return, so without the grant
/// Zellige fails the whole call: declare `now` in the manifest of any plugin that calls this.
/// Natively, it reads the mock host's clock (see [`testing`]; 0 when `now` is denied there), or
/// the system clock when no mock host is installed.
pub fn now_ms() -> i64 {
    host::now_ms()
}

/// Exports a [`Plugin`] as the component's `widget` and `hooks` interfaces. Use it once, at
/// the root of the plugin crate: `zellige_plugin::export!(MyPlugin);`.
///
/// Built natively it only checks that the type implements [`Plugin`]: the component's export
/// names (`zellige:plugin/widget@0.1.0#render` …) are not valid symbol names for native
/// linkers, and native builds exist for `cargo test`, which calls the plugin directly.
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            type __ZelligePluginExports = $crate::__private::Exports<$plugin>;
    $crate::__export_plugin_impl!(__ZelligePluginExports with_types_in $crate::bindings);
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            const fn __zellige_plugin_check<P: $crate::Plugin>() {}
            __zellige_plugin_check::<$plugin>();
        };
    };
}

/// Support for [`export!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::glue::Exports;
}
