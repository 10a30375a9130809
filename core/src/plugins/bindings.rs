//! Host side of the WIT world `zellige:plugin/plugin@0.1.0` (`plugins/wit/v0.1.0`): the generated
//! bindings and the four capability imports. Every import checks the tenant's grant on every
//! call and answers `host-error.denied` (a value the guest sees, not a trap) when it is missing;
//! `clock.now`, which has no error in its signature, traps instead.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::manifest::Capability;
use super::{CallEnv, CallState};
use crate::content::PageArgs;
use crate::store::entries::Stage;

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../plugins/wit/v0.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use exports::zellige::plugin::widget::Rendered;
pub use zellige::plugin::types::{
    Context as WitContext, Entry as WitEntry, EntryDraft as WitEntryDraft,
    FieldError as WitFieldError, HookError, HostError, PluginError as WitPluginError,
};

use zellige::plugin::{clock, entries, kv, log, types};

/// Longest log message kept, bytes.
const LOG_MESSAGE_BYTES: usize = 4096;
/// Log messages one call may write.
const LOG_MESSAGES: u32 = 100;
/// Longest `kv` key, bytes.
pub const KV_KEY_BYTES: usize = 256;
/// Largest `kv` value, bytes.
pub const KV_VALUE_BYTES: usize = 64 * 1024;

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl CallState {
    fn grant(&self, cap: Capability) -> Result<(), HostError> {
        if self.env.grants.contains(&cap) {
            Ok(())
        } else {
            Err(HostError::Denied(format!(
                "the tenant has not granted the `{}` capability to this plugin",
                cap.as_str()
            )))
        }
    }

    pub(super) fn new(env: Arc<CallEnv>, memory_bytes: usize) -> CallState {
        CallState {
            wasi: sandbox_wasi(),
            table: ResourceTable::new(),
            limiter: super::Limiter::new(memory_bytes),
            env,
            queries: 0,
            logs: 0,
        }
    }
}

/// A WASI context that grants nothing: no preopened directories, no environment or arguments,
/// stdio discarded, no network, and clocks frozen at the epoch (time comes only through the
/// `now` capability). It exists because guest toolchains import WASI even when they never use it.
fn sandbox_wasi() -> WasiCtx {
    let mut b = WasiCtx::builder();
    b.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock);
    b.build()
}

struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl types::Host for CallState {}

impl log::Host for CallState {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        if self.grant(Capability::Log).is_err() || self.logs >= LOG_MESSAGES {
            return Ok(());
        }
        self.logs += 1;
        let mut message = message;
        if message.len() > LOG_MESSAGE_BYTES {
            let mut cut = LOG_MESSAGE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let tenant = self.env.tenant.slug();
        let plugin = self.env.plugin_id.as_str();
        match level {
            log::Level::Debug => tracing::debug!(tenant, plugin, "{message}"),
            log::Level::Info => tracing::info!(tenant, plugin, "{message}"),
            log::Level::Warn => tracing::warn!(tenant, plugin, "{message}"),
            log::Level::Error => tracing::error!(tenant, plugin, "{message}"),
        }
        Ok(())
    }
}

impl clock::Host for CallState {
    async fn now(&mut self) -> wasmtime::Result<i64> {
        if let Err(HostError::Denied(m)) = self.grant(Capability::Now) {
            return Err(wasmtime::format_err!("{m}"));
        }
        Ok(crate::time::now_ms())
    }
}

impl entries::Host for CallState {
    async fn query(
        &mut self,
        q: entries::EntryQuery,
    ) -> wasmtime::Result<Result<entries::Page, HostError>> {
        Ok(self.run_query(q).await)
    }
}

impl CallState {
    async fn run_query(&mut self, q: entries::EntryQuery) -> Result<entries::Page, HostError> {
        self.grant(Capability::Entries)?;
        if self.queries >= self.env.queries_per_call {
            return Err(HostError::Limit(format!(
                "at most {} entries.query calls per plugin call",
                self.env.queries_per_call
            )));
        }
        self.queries += 1;
        let env = self.env.clone();
        let filter = if q.where_json.trim().is_empty() {
            None
        } else {
            match serde_json::from_str::<Value>(&q.where_json) {
                Ok(v @ Value::Object(_)) => Some(v),
                _ => {
                    return Err(HostError::Invalid(
                        "where-json must be a JSON object".into(),
                    ));
                }
            }
        };
        let cap = u64::from(env.query_rows);
        let first = if q.first == 0 {
            cap
        } else {
            u64::from(q.first).min(cap)
        };
        let locale = q.locale.unwrap_or_else(|| env.locale.clone());
        if !env.tenant.locales().contains(&locale) {
            return Err(HostError::Invalid(format!("unknown locale `{locale}`")));
        }
        let args = PageArgs {
            filter,
            order_by: q
                .order_by
                .iter()
                .map(|s| {
                    (
                        s.field.clone(),
                        matches!(s.direction, entries::Direction::Desc),
                    )
                })
                .collect(),
            first: Some(first),
            after: q.after,
            last: None,
            before: None,
            locale: Some(locale.clone()),
            owner: None,
            without_page_info: false,
        };
        let content = &env.content;
        let model = content.model(&env.tenant).await.map_err(unavailable)?;
        let ct = model
            .get(&q.entry_type)
            .map_err(|e| HostError::Invalid(e.to_string()))?;
        // Only the published stage, only this tenant: nothing in the arguments can change that.
        let page = content
            .list(&env.tenant, &q.entry_type, &args, Stage::Published)
            .await
            .map_err(host_error)?;
        // A first page that is also the last holds the whole count; only longer lists count.
        let total = if args.after.is_none() && !page.has_next_page {
            i64::try_from(page.entries.len()).unwrap_or(i64::MAX)
        } else {
            content
                .count(&env.tenant, &q.entry_type, &args, Stage::Published)
                .await
                .map_err(host_error)?
        };
        let end_cursor = if page.has_next_page {
            page.entries.last().map(|(_, c)| c.encode())
        } else {
            None
        };
        let default_locale = env.tenant.default_locale();
        let entries = page
            .entries
            .into_iter()
            .map(|(e, _)| {
                let mut data = e.to_localized_json(ct, &locale, default_locale);
                if let Some(obj) = data.as_object_mut() {
                    // Internal account ids are not for plugins.
                    obj.remove("createdBy");
                    obj.remove("updatedBy");
                }
                WitEntry {
                    id: e.id.clone(),
                    entry_type: e.entry_type.clone(),
                    slug: e.slug.clone(),
                    locale: locale.clone(),
                    published_at: e.published_at.map(crate::time::to_rfc3339),
                    data_json: data.to_string(),
                }
            })
            .collect();
        Ok(entries::Page {
            entries,
            total_count: u64::try_from(total).unwrap_or(0),
            end_cursor,
        })
    }

    fn kv_key(&self, key: &str) -> Result<(), HostError> {
        self.grant(Capability::Kv)?;
        if key.is_empty() || key.len() > KV_KEY_BYTES {
            return Err(HostError::Invalid(format!(
                "a key has 1 to {KV_KEY_BYTES} bytes"
            )));
        }
        Ok(())
    }

    async fn kv_room_for(env: Arc<CallEnv>, key: &str) -> Result<(), HostError> {
        let exists = crate::store::plugins::kv_get(&env.db, env.tenant.id(), &env.plugin_id, key)
            .await
            .map_err(|_| unavailable_db())?
            .is_some();
        if !exists {
            let n = crate::store::plugins::kv_count(&env.db, env.tenant.id(), &env.plugin_id)
                .await
                .map_err(|_| unavailable_db())?;
            if u64::try_from(n).unwrap_or(0) >= env.kv_keys {
                return Err(HostError::Limit(format!(
                    "this plugin holds {} keys in this tenant, the most allowed",
                    env.kv_keys
                )));
            }
        }
        Ok(())
    }
}

impl kv::Host for CallState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, HostError>> {
        if let Err(e) = self.kv_key(&key) {
            return Ok(Err(e));
        }
        let env = &self.env;
        Ok(
            crate::store::plugins::kv_get(&env.db, env.tenant.id(), &env.plugin_id, &key)
                .await
                .map_err(|_| unavailable_db()),
        )
    }

    async fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.kv_key(&key) {
            return Ok(Err(e));
        }
        if value.len() > KV_VALUE_BYTES {
            return Ok(Err(HostError::Invalid(format!(
                "a value has at most {KV_VALUE_BYTES} bytes"
            ))));
        }
        if let Err(e) = CallState::kv_room_for(self.env.clone(), &key).await {
            return Ok(Err(e));
        }
        let env = &self.env;
        Ok(crate::store::plugins::kv_set(
            &env.db,
            env.tenant.id(),
            &env.plugin_id,
            &key,
            &value,
            crate::time::now_ms(),
        )
        .await
        .map_err(|_| unavailable_db()))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.kv_key(&key) {
            return Ok(Err(e));
        }
        let env = &self.env;
        Ok(
            crate::store::plugins::kv_delete(&env.db, env.tenant.id(), &env.plugin_id, &key)
                .await
                .map_err(|_| unavailable_db()),
        )
    }

    async fn increment(
        &mut self,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, HostError>> {
        if let Err(e) = self.kv_key(&key) {
            return Ok(Err(e));
        }
        let env = self.env.clone();
        match crate::store::plugins::kv_get(&env.db, env.tenant.id(), &env.plugin_id, &key).await {
            Ok(Some(v)) => match v.parse::<i64>() {
                Err(_) => {
                    return Ok(Err(HostError::Invalid(format!(
                        "the value at `{key}` is not an integer"
                    ))));
                }
                Ok(n) if n.checked_add(delta).is_none() => {
                    return Ok(Err(HostError::Invalid(format!(
                        "the value at `{key}` would overflow a 64-bit integer"
                    ))));
                }
                Ok(_) => {}
            },
            Ok(None) => {
                if let Err(e) = CallState::kv_room_for(self.env.clone(), &key).await {
                    return Ok(Err(e));
                }
            }
            Err(_) => return Ok(Err(unavailable_db())),
        }
        Ok(crate::store::plugins::kv_increment(
            &env.db,
            env.tenant.id(),
            &env.plugin_id,
            &key,
            delta,
            crate::time::now_ms(),
        )
        .await
        .map_err(|_| unavailable_db()))
    }
}

fn unavailable(e: crate::content::ContentError) -> HostError {
    tracing::warn!(error = %e, "plugin entries.query");
    HostError::Unavailable("the content store did not answer".into())
}

fn unavailable_db() -> HostError {
    HostError::Unavailable("the store did not answer".into())
}

fn host_error(e: crate::content::ContentError) -> HostError {
    match e.code() {
        crate::ErrorCode::Internal => unavailable(e),
        _ => HostError::Invalid(e.to_string()),
    }
}
