//! The plugin host (SPEC §7): WebAssembly components run in a sandbox under per-call limits.
//!
//! Owns the wasmtime engine (one per process, pooling allocator, epoch interruption), the
//! compiled components (compiled at install, kept on disk by wasmtime's cache keyed by content
//! hash and engine, and as `InstancePre`s in memory keyed by content hash), the registry
//! (install, versions, per-tenant enablement), and the calls: `render` for widgets,
//! `before_save` and `after_publish` for hooks. Every call gets a fresh instance and store, a
//! deadline, a memory cap and an output cap; a plugin that traps, loops or exceeds a limit fails
//! that call only (`PLUGIN_ERROR`, `PLUGIN_TIMEOUT`, `PLUGIN_LIMIT`).
//!
//! Calls into the content service (for `entries.query`) and the store; it is called by GraphQL,
//! the admin API, the CLI and the content service (hooks), never the other way round.

pub mod bindings;
pub mod bundled;
pub mod compiler;
pub mod manifest;
pub mod registry;
pub mod sanitize;
pub mod worker;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store};

use crate::config::PluginsConfig;
use crate::content::Content;
use crate::error::{ErrorCode, FieldError};
use crate::store::Db;
use crate::tenancy::TenantCtx;

use bindings::{HookError, PluginPre, WitContext, WitPluginError};
pub use manifest::{Capability, Hook, Manifest};
pub use sanitize::sanitize_widget_html;

/// Errors of the plugin layer; each maps to one code of the SPEC's table.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("invalid input: {}", crate::error::describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The plugin failed: a trap, a reported error, a bad answer.
    #[error("plugin `{plugin}` failed: {message}")]
    Failed { plugin: String, message: String },
    /// The plugin ran out of time.
    #[error("plugin `{plugin}` did not finish within {ms} ms")]
    Timeout { plugin: String, ms: u64 },
    /// The plugin hit a memory, output or rate limit.
    #[error("plugin `{plugin}` exceeded a limit: {message}")]
    Limit { plugin: String, message: String },
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error("plugin engine error: {0}")]
    Engine(String),
}

impl PluginError {
    pub fn code(&self) -> ErrorCode {
        match self {
            PluginError::Invalid(_) => ErrorCode::BadUserInput,
            PluginError::NotFound(_) => ErrorCode::NotFound,
            PluginError::Forbidden(_) => ErrorCode::Forbidden,
            PluginError::Conflict(_) => ErrorCode::Conflict,
            PluginError::Failed { .. } => ErrorCode::PluginError,
            PluginError::Timeout { .. } => ErrorCode::PluginTimeout,
            PluginError::Limit { .. } => ErrorCode::PluginLimit,
            PluginError::Db(_) | PluginError::Engine(_) => ErrorCode::Internal,
        }
    }

    pub fn fields(&self) -> &[FieldError] {
        match self {
            PluginError::Invalid(f) => f,
            _ => &[],
        }
    }

    fn invalid(path: &str, rule: &str, message: impl Into<String>) -> Self {
        PluginError::Invalid(vec![FieldError::new(path, rule, message)])
    }
}

/// What one call may do and see; shared by the imports of that call.
pub(crate) struct CallEnv {
    pub tenant: TenantCtx,
    pub plugin_id: String,
    pub locale: String,
    pub grants: BTreeSet<Capability>,
    pub db: Db,
    pub content: Content,
    pub query_rows: u32,
    pub queries_per_call: u32,
    pub kv_keys: u64,
}

/// The store data of one call.
pub(crate) struct CallState {
    wasi: wasmtime_wasi::WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    env: Arc<CallEnv>,
    queries: u32,
    logs: u32,
}

/// Memory and table caps of one instance. Remembers a refusal so the failure is reported as
/// `PLUGIN_LIMIT` rather than as the trap it causes.
pub(crate) struct Limiter {
    memory_bytes: usize,
    hit: Option<String>,
}

/// Most table elements one instance may grow to.
const TABLE_ELEMENTS: usize = 200_000;

impl Limiter {
    fn new(memory_bytes: usize) -> Self {
        Limiter {
            memory_bytes,
            hit: None,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            let msg = format!(
                "memory would grow to {} MiB; the limit is {} MiB",
                desired / (1024 * 1024),
                self.memory_bytes / (1024 * 1024)
            );
            self.hit = Some(msg.clone());
            return Err(wasmtime::format_err!("{msg}"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > TABLE_ELEMENTS {
            let msg = format!("a table would grow to {desired} elements");
            self.hit = Some(msg.clone());
            return Err(wasmtime::format_err!("{msg}"));
        }
        Ok(true)
    }
}

/// The limits one call runs under, after the host ceiling, the manifest's ask and the tenant's
/// narrowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    pub timeout_ms: u64,
    pub memory_mib: u64,
    pub calls_per_minute: u32,
}

/// A widget as rendered (sanitized) and returned to GraphQL.
#[derive(Debug, Clone, PartialEq)]
pub struct WidgetOutput {
    pub html: String,
    pub data: Value,
    pub cache_seconds: u32,
}

/// A widget a tenant can render, for the `widgets` query.
#[derive(Debug, Clone)]
pub struct WidgetInfo {
    pub plugin: String,
    pub name: String,
    pub description: String,
    pub props_schema: Value,
}

/// The plugin host. Cheap to clone.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

/// A plugin setup and the tenant outbox sequence it was read at.
type SetupAt = (i64, Arc<registry::Enabled>);

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    config: PluginsConfig,
    /// Where the engine keeps compiled components (when `config.compile_cache`).
    cache_dir: std::path::PathBuf,
    /// Set by the server: components are compiled in a child process into the disk cache.
    child: std::sync::OnceLock<compiler::ChildCompiler>,
    db: Db,
    content: Content,
    /// Ready-to-instantiate components by content hash.
    pres: Mutex<HashMap<String, PluginPre<CallState>>>,
    /// Parsed manifests by content hash.
    manifests: Mutex<HashMap<String, Arc<Manifest>>>,
    /// Compiled props schemas by component hash and widget.
    validators: Mutex<HashMap<(String, String), Arc<jsonschema::Validator>>>,
    /// Calls per minute per (tenant, plugin).
    rates: Mutex<HashMap<(String, String), (Instant, u32)>>,
    /// Rendered widgets: answer and expiry.
    widgets: moka::sync::Cache<String, (Instant, Arc<WidgetOutput>)>,
    /// Plugin setups per (tenant, plugin), each with the tenant's outbox sequence it was read
    /// at: every change to a setup records an outbox event, so a request that reads a newer
    /// sequence reads the setup again (see `registry::enabled`).
    setups: Mutex<HashMap<(String, String), SetupAt>>,
    /// Each tenant's `before-save` plugins, with the `tenants.plugins_rev` they were read at:
    /// a write whose credential read the same revision needs no lookup (see
    /// [`PluginHost::before_save_plugins`]).
    hooks: Mutex<HashMap<String, HooksAt>>,
}

type HooksAt = (i64, Arc<Vec<registry::Enabled>>);

impl PluginHost {
    /// Builds the engine and linker. `cache_dir` holds compiled components across restarts.
    pub fn new(
        config: &PluginsConfig,
        cache_dir: &std::path::Path,
        db: Db,
        content: Content,
    ) -> anyhow::Result<PluginHost> {
        let engine = build_engine(config, cache_dir)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("linking WASI: {e}"))?;
        bindings::Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("linking the plugin imports: {e}"))?;
        start_epoch_ticker(&engine, Duration::from_millis(config.epoch_tick_ms.max(1)));
        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                linker,
                config: config.clone(),
                cache_dir: cache_dir.to_owned(),
                child: std::sync::OnceLock::new(),
                db,
                content,
                pres: Mutex::default(),
                manifests: Mutex::default(),
                validators: Mutex::default(),
                rates: Mutex::default(),
                setups: Mutex::default(),
                hooks: Mutex::default(),
                widgets: moka::sync::Cache::builder()
                    .max_capacity(if config.widget_cache_entries == 0 {
                        0
                    } else {
                        config.widget_cache_entries
                    })
                    .time_to_live(Duration::from_secs(3600))
                    .build(),
            }),
        })
    }

    pub fn config(&self) -> &PluginsConfig {
        &self.inner.config
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    pub(crate) fn content(&self) -> &Content {
        &self.inner.content
    }

    /// Compiles (or loads from the disk cache) and links a component, as an install does,
    /// without storing anything: for benchmarks and checks.
    pub fn compile(&self, wasm: &[u8]) -> Result<(), PluginError> {
        self.prepare(wasm).map(|_| ())
    }

    /// Compiles components in a child process (see [`compiler`]) from now on; needs the disk
    /// cache (`plugins.compile_cache`), without which this does nothing.
    pub fn compile_in_child(&self, compiler: compiler::ChildCompiler) {
        if self.inner.config.compile_cache {
            let _ = self.inner.child.set(compiler);
        }
    }

    /// Compiles a component and checks that it implements the world with the imports this host
    /// provides. Returns the ready instance factory; used at install and on a cache miss.
    fn prepare(&self, wasm: &[u8]) -> Result<PluginPre<CallState>, PluginError> {
        if let Some(child) = self.inner.child.get() {
            let limit = Duration::from_millis(self.inner.config.install_timeout_ms.max(1));
            if let Err(e) = child.compile(&self.inner.config, &self.inner.cache_dir, wasm, limit) {
                // The compile below runs in process and reports the compiler's own error.
                tracing::debug!(error = %e, "compiling a component in a child process failed");
            }
        }
        let component = Component::new(&self.inner.engine, wasm).map_err(|e| {
            PluginError::invalid(
                "component",
                "wasm",
                format!("not a WebAssembly component this host can compile: {e}"),
            )
        })?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| {
            PluginError::invalid(
                "component",
                "imports",
                format!("the component needs an import this host does not provide: {e:#}"),
            )
        })?;
        PluginPre::new(pre).map_err(|e| {
            PluginError::invalid(
                "component",
                "world",
                format!("the component does not implement zellige:plugin/plugin@0.1.0: {e:#}"),
            )
        })
    }

    /// The ready component of this hash: from memory, else compiled from the database bytes
    /// (wasmtime's disk cache makes that a load when this node has seen them before).
    async fn pre(&self, sha256: &str) -> Result<PluginPre<CallState>, PluginError> {
        if let Some(pre) = self.lock_pres().get(sha256) {
            return Ok(pre.clone());
        }
        let wasm = crate::store::plugins::wasm_by_sha(&self.inner.db, sha256)
            .await?
            .ok_or_else(|| PluginError::NotFound(format!("component {sha256}")))?;
        let host = self.clone();
        let pre = tokio::task::spawn_blocking(move || host.prepare(&wasm))
            .await
            .map_err(|e| PluginError::Engine(e.to_string()))??;
        self.lock_pres().insert(sha256.to_owned(), pre.clone());
        Ok(pre)
    }

    /// The parsed manifest stored with a component (parsed once per hash).
    fn manifest(&self, sha256: &str, stored: &str) -> Result<Arc<Manifest>, PluginError> {
        let mut cache = self
            .inner
            .manifests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = cache.get(sha256) {
            return Ok(m.clone());
        }
        let m = Arc::new(
            Manifest::from_stored(stored)
                .map_err(|e| PluginError::Engine(format!("stored manifest: {e}")))?,
        );
        cache.insert(sha256.to_owned(), m.clone());
        Ok(m)
    }

    /// A setup read at the tenant's outbox sequence `seq`, if this node has it.
    fn setup_at(&self, tenant: &str, plugin: &str, seq: i64) -> Option<Arc<registry::Enabled>> {
        let setups = self
            .inner
            .setups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, setup) = setups.get(&(tenant.to_owned(), plugin.to_owned()))?;
        (*at == seq).then(|| setup.clone())
    }

    fn keep_setup(&self, tenant: &str, seq: i64, setup: Arc<registry::Enabled>) {
        let mut setups = self
            .inner
            .setups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if setups.len() >= 10_000 {
            setups.clear();
        }
        let key = (tenant.to_owned(), setup.plugin_id.clone());
        match setups.get(&key) {
            // Never replace a setup read at a later sequence by one read earlier.
            Some((at, _)) if *at > seq => {}
            _ => {
                setups.insert(key, (seq, setup));
            }
        }
    }

    fn lock_pres(&self) -> std::sync::MutexGuard<'_, HashMap<String, PluginPre<CallState>>> {
        self.inner
            .pres
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Loads every enabled component so the first request finds them ready.
    pub async fn warm(&self) -> Result<usize, PluginError> {
        let hashes = crate::store::plugins::enabled_hashes(&self.inner.db).await?;
        let mut n = 0;
        for sha in hashes {
            match self.pre(&sha).await {
                Ok(_) => n += 1,
                Err(e) => tracing::warn!(sha = %sha, error = %e, "could not load a plugin"),
            }
        }
        Ok(n)
    }

    /// Counts a call against the (tenant, plugin) rate; refuses beyond `per_minute`.
    fn admit(&self, tenant: &str, plugin: &str, per_minute: u32) -> Result<(), PluginError> {
        let mut rates = self
            .inner
            .rates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let slot = rates
            .entry((tenant.to_owned(), plugin.to_owned()))
            .or_insert((now, 0));
        if now.duration_since(slot.0) >= Duration::from_secs(60) {
            *slot = (now, 0);
        }
        if slot.1 >= per_minute {
            return Err(PluginError::Limit {
                plugin: plugin.to_owned(),
                message: format!("more than {per_minute} calls per minute in this tenant"),
            });
        }
        slot.1 += 1;
        Ok(())
    }

    /// Runs `f` on a fresh instance of `setup`'s component under its limits, and classifies
    /// what went wrong.
    async fn call<T, F>(
        &self,
        setup: &registry::Enabled,
        locale: &str,
        tenant: &TenantCtx,
        f: F,
    ) -> Result<T, PluginError>
    where
        F: for<'a> FnOnce(
                &'a bindings::Plugin,
                &'a mut Store<CallState>,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = wasmtime::Result<T>> + Send + 'a>,
            > + Send,
        T: Send,
    {
        let limits = setup.limits;
        self.admit(tenant.id(), &setup.plugin_id, limits.calls_per_minute)?;
        let pre = self.pre(&setup.sha256).await?;
        let env = Arc::new(CallEnv {
            tenant: tenant.clone(),
            plugin_id: setup.plugin_id.clone(),
            locale: locale.to_owned(),
            grants: setup.grants.clone(),
            db: self.inner.db.clone(),
            content: self.inner.content.clone(),
            query_rows: self.inner.config.query_rows,
            queries_per_call: self.inner.config.queries_per_call,
            kv_keys: self.inner.config.kv_keys,
        });
        let memory =
            usize::try_from(limits.memory_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        let mut store = Store::new(&self.inner.engine, CallState::new(env, memory));
        store.limiter(|s| &mut s.limiter);
        let tick = self.inner.config.epoch_tick_ms.max(1);
        store.set_epoch_deadline(limits.timeout_ms / tick + 1);
        store.epoch_deadline_trap();
        let plugin_id = setup.plugin_id.clone();
        let timeout = Duration::from_millis(limits.timeout_ms);
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            f(&instance, &mut store).await
        };
        // The epoch deadline stops guest code; the wall-clock bound also covers time spent in
        // host imports (a slow query), with a margin for the instantiation.
        let outcome =
            tokio::time::timeout(timeout + Duration::from_millis(tick * 2 + 20), run).await;
        let limit_hit = store.data_mut().limiter.hit.take();
        match outcome {
            Err(_) => Err(PluginError::Timeout {
                plugin: plugin_id,
                ms: limits.timeout_ms,
            }),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(&plugin_id, limits.timeout_ms, limit_hit, e)),
        }
    }

    /// Renders a widget of a plugin the tenant enabled.
    pub async fn render(
        &self,
        tenant: &TenantCtx,
        event_seq: Option<i64>,
        plugin: &str,
        widget: &str,
        props: Value,
        locale: &str,
    ) -> Result<Arc<WidgetOutput>, PluginError> {
        let setup = registry::enabled(self, tenant, event_seq, plugin).await?;
        self.render_with(&setup, tenant, event_seq, widget, props, locale)
            .await
    }

    /// Renders a widget of a plugin already resolved for the tenant (`registry::enabled`).
    pub async fn render_with(
        &self,
        setup: &registry::Enabled,
        tenant: &TenantCtx,
        event_seq: Option<i64>,
        widget: &str,
        props: Value,
        locale: &str,
    ) -> Result<Arc<WidgetOutput>, PluginError> {
        let plugin = setup.plugin_id.as_str();
        let decl = setup.manifest.widget(widget).ok_or_else(|| {
            PluginError::invalid(
                "name",
                "exists",
                format!("plugin `{plugin}` has no widget `{widget}`"),
            )
        })?;
        self.check_props(setup, widget, &decl.props_schema, &props)?;
        let props_json = props.to_string();
        // An answer that reads entries is keyed by the tenant's outbox sequence, so a write
        // retires it; every answer lives at most its own cacheSeconds.
        let cache_key = self.widget_cache_enabled().then(|| {
            let seq = if setup.grants.contains(&Capability::Entries) {
                event_seq.unwrap_or(-1)
            } else {
                0
            };
            format!(
                "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
                tenant.id(),
                setup.sha256,
                setup.config_digest,
                setup.grants_digest(),
                widget,
                locale,
                seq,
                props_json
            )
        });
        if let Some(key) = &cache_key
            && (!setup.grants.contains(&Capability::Entries) || event_seq.is_some())
            && let Some((expires, out)) = self.inner.widgets.get(key)
        {
            if Instant::now() < expires {
                return Ok(out);
            }
            self.inner.widgets.invalidate(key);
        }
        let ctx = wit_context(tenant, locale, &setup.config_json);
        let name = widget.to_owned();
        let rendered = self
            .call(setup, locale, tenant, move |plugin, store| {
                Box::pin(async move {
                    plugin
                        .zellige_plugin_widget()
                        .call_render(store, &ctx, &name, &props_json)
                        .await
                })
            })
            .await?;
        let rendered = rendered.map_err(|e| guest_error(plugin, e))?;
        let size = rendered.html.len() + rendered.data_json.len();
        if size > self.inner.config.output_bytes {
            return Err(PluginError::Limit {
                plugin: plugin.to_owned(),
                message: format!(
                    "the answer has {size} bytes; at most {} allowed",
                    self.inner.config.output_bytes
                ),
            });
        }
        let data = if rendered.data_json.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&rendered.data_json).map_err(|e| PluginError::Failed {
                plugin: plugin.to_owned(),
                message: format!("data-json is not JSON: {e}"),
            })?
        };
        let out = Arc::new(WidgetOutput {
            html: sanitize_widget_html(&rendered.html),
            data,
            cache_seconds: rendered.cache_seconds,
        });
        if let Some(key) = cache_key
            && rendered.cache_seconds > 0
            && (!setup.grants.contains(&Capability::Entries) || event_seq.is_some())
        {
            let expires = Instant::now() + Duration::from_secs(u64::from(rendered.cache_seconds));
            self.inner.widgets.insert(key, (expires, out.clone()));
        }
        Ok(out)
    }

    /// Checks props against the widget's schema, compiled once per component and widget.
    fn check_props(
        &self,
        setup: &registry::Enabled,
        widget: &str,
        schema: &Value,
        props: &Value,
    ) -> Result<(), PluginError> {
        let key = (setup.sha256.clone(), widget.to_owned());
        let cached = self
            .inner
            .validators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let validator = match cached {
            Some(v) => v,
            None => {
                let v = Arc::new(manifest::compile_schema(schema).map_err(|e| {
                    PluginError::Invalid(vec![FieldError::new("props", "schema", e)])
                })?);
                self.inner
                    .validators
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key, v.clone());
                v
            }
        };
        manifest::check(&validator, props, "props").map_err(PluginError::Invalid)
    }

    fn widget_cache_enabled(&self) -> bool {
        self.inner.config.widget_cache_entries > 0
    }

    /// The widgets the tenant has enabled.
    pub async fn widgets(&self, tenant: &TenantCtx) -> Result<Vec<WidgetInfo>, PluginError> {
        let mut out = Vec::new();
        for setup in registry::enabled_all(self, tenant).await? {
            for w in &setup.manifest.widgets {
                out.push(WidgetInfo {
                    plugin: setup.plugin_id.clone(),
                    name: w.name.clone(),
                    description: w.description.clone(),
                    props_schema: w.props_schema.clone(),
                });
            }
        }
        Ok(out)
    }

    /// The tenant's enabled plugins that declare `before-save`, in plugin id order (empty when
    /// there is nothing to run). Read once per revision of the tenant's setups when the request
    /// read one with its credential (`TenantCtx::plugins_rev`): a setup change bumps the
    /// revision in its own transaction, so any node sees it at its next request. Without a
    /// revision (sessions, commands) they are read afresh.
    pub async fn before_save_plugins(
        &self,
        tenant: &TenantCtx,
    ) -> Result<Vec<registry::Enabled>, PluginError> {
        let rev = tenant.plugins_rev();
        if let Some(rev) = rev
            && let Some(kept) = self.hooks_at(tenant.id(), rev)
        {
            return Ok(kept.as_ref().clone());
        }
        let hooked: Vec<registry::Enabled> = registry::enabled_all(self, tenant)
            .await?
            .into_iter()
            .filter(|s| s.manifest.hooks.contains(&Hook::BeforeSave))
            .collect();
        if let Some(rev) = rev {
            // Read after the credential, so at least as new as `rev`.
            self.keep_hooks(tenant.id(), rev, Arc::new(hooked.clone()));
        }
        Ok(hooked)
    }

    fn lock_hooks(&self) -> std::sync::MutexGuard<'_, HashMap<String, HooksAt>> {
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hooks_at(&self, tenant: &str, rev: i64) -> Option<Arc<Vec<registry::Enabled>>> {
        let hooks = self.lock_hooks();
        let (at, kept) = hooks.get(tenant)?;
        (*at == rev).then(|| kept.clone())
    }

    fn keep_hooks(&self, tenant: &str, rev: i64, hooked: Arc<Vec<registry::Enabled>>) {
        let mut hooks = self.lock_hooks();
        if hooks.len() >= 10_000 && !hooks.contains_key(tenant) {
            hooks.clear();
        }
        match hooks.get(tenant) {
            // Never replace what was read at a later revision by what was read earlier.
            Some((at, _)) if *at > rev => {}
            _ => {
                hooks.insert(tenant.to_owned(), (rev, hooked));
            }
        }
    }

    /// Runs the `before-save` hooks of `hooked` (from [`Self::before_save_plugins`]) over an
    /// entry's data, in order; each sees the previous one's result.
    pub async fn before_save(
        &self,
        tenant: &TenantCtx,
        hooked: Vec<registry::Enabled>,
        entry_type: &str,
        id: Option<&str>,
        data: serde_json::Map<String, Value>,
    ) -> Result<serde_json::Map<String, Value>, PluginError> {
        let mut data = data;
        for setup in hooked {
            let ctx = wit_context(tenant, tenant.default_locale(), &setup.config_json);
            let draft = bindings::WitEntryDraft {
                id: id.map(str::to_owned),
                entry_type: entry_type.to_owned(),
                data_json: Value::Object(data.clone()).to_string(),
            };
            let result = self
                .call(
                    &setup,
                    tenant.default_locale(),
                    tenant,
                    move |plugin, store| {
                        Box::pin(async move {
                            plugin
                                .zellige_plugin_hooks()
                                .call_before_save(store, &ctx, &draft)
                                .await
                        })
                    },
                )
                .await?;
            let plugin = setup.plugin_id.as_str();
            match result {
                Ok(json) => {
                    if json.len() > self.inner.config.output_bytes {
                        return Err(PluginError::Limit {
                            plugin: plugin.to_owned(),
                            message: "before-save returned too much data".into(),
                        });
                    }
                    match serde_json::from_str::<Value>(&json) {
                        Ok(Value::Object(m)) => data = m,
                        _ => {
                            return Err(PluginError::Failed {
                                plugin: plugin.to_owned(),
                                message: "before-save must return a JSON object".into(),
                            });
                        }
                    }
                }
                Err(HookError::Invalid(fields)) => {
                    return Err(PluginError::Invalid(
                        fields
                            .into_iter()
                            .map(|f| {
                                FieldError::new(
                                    f.path,
                                    "plugin",
                                    format!("{} (plugin `{plugin}`)", f.message),
                                )
                            })
                            .collect(),
                    ));
                }
                Err(HookError::Failed(message)) => {
                    return Err(PluginError::Failed {
                        plugin: plugin.to_owned(),
                        message,
                    });
                }
            }
        }
        Ok(data)
    }

    /// Calls `after-publish` of one plugin for one published entry.
    pub async fn after_publish(
        &self,
        tenant: &TenantCtx,
        setup: &registry::Enabled,
        entry: bindings::WitEntry,
    ) -> Result<(), PluginError> {
        let ctx = wit_context(tenant, tenant.default_locale(), &setup.config_json);
        let result = self
            .call(
                setup,
                tenant.default_locale(),
                tenant,
                move |plugin, store| {
                    Box::pin(async move {
                        plugin
                            .zellige_plugin_hooks()
                            .call_after_publish(store, &ctx, &entry)
                            .await
                    })
                },
            )
            .await?;
        result.map_err(|e| guest_error(&setup.plugin_id, e))
    }
}

fn wit_context(tenant: &TenantCtx, locale: &str, config_json: &str) -> WitContext {
    WitContext {
        tenant: tenant.slug().to_owned(),
        locale: locale.to_owned(),
        default_locale: tenant.default_locale().to_owned(),
        locales: tenant.locales().to_vec(),
        config_json: config_json.to_owned(),
    }
}

fn guest_error(plugin: &str, e: WitPluginError) -> PluginError {
    match e {
        WitPluginError::BadProps(m) => {
            PluginError::invalid("props", "plugin", format!("{m} (plugin `{plugin}`)"))
        }
        WitPluginError::UnknownWidget(m) => {
            PluginError::invalid("name", "exists", format!("{m} (plugin `{plugin}`)"))
        }
        WitPluginError::Failed(message) => PluginError::Failed {
            plugin: plugin.to_owned(),
            message,
        },
    }
}

/// Turns a failed call into the SPEC's codes: the epoch deadline is `PLUGIN_TIMEOUT`, a refused
/// memory or table growth `PLUGIN_LIMIT`, anything else (traps, stack overflow) `PLUGIN_ERROR`.
fn classify(
    plugin: &str,
    timeout_ms: u64,
    limit_hit: Option<String>,
    e: wasmtime::Error,
) -> PluginError {
    if let Some(message) = limit_hit {
        return PluginError::Limit {
            plugin: plugin.to_owned(),
            message,
        };
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => PluginError::Timeout {
                plugin: plugin.to_owned(),
                ms: timeout_ms,
            },
            wasmtime::Trap::StackOverflow => PluginError::Failed {
                plugin: plugin.to_owned(),
                message: "stack overflow".into(),
            },
            other => PluginError::Failed {
                plugin: plugin.to_owned(),
                message: format!("trapped: {other}"),
            },
        };
    }
    PluginError::Failed {
        plugin: plugin.to_owned(),
        message: format!("{e}"),
    }
}

/// One engine per process: component model, async, epoch interruption, wasmtime's on-disk cache
/// of compiled code, and the pooling allocator sized from `pool_instances` (on-demand
/// allocation when the address space is too small for the pool).
/// Bytes of a pooled memory kept resident between instances (see `build_engine`).
const KEEP_RESIDENT_BYTES: usize = 256 * 1024;

fn build_engine(config: &PluginsConfig, cache_dir: &std::path::Path) -> anyhow::Result<Engine> {
    let base = || -> anyhow::Result<wasmtime::Config> {
        let mut c = wasmtime::Config::new();
        c.wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(512 * 1024);
        if config.compile_cache {
            std::fs::create_dir_all(cache_dir)?;
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(cache_dir);
            let cache =
                wasmtime::Cache::new(cache).map_err(|e| anyhow::anyhow!("plugin cache: {e}"))?;
            c.cache(Some(cache));
        }
        Ok(c)
    };
    let mut pooled = base()?;
    let n = config.pool_instances.max(1);
    let max_memory = config.max_memory_mib.max(config.memory_mib) * 1024 * 1024;
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n * 16)
        .total_memories(n * 4)
        .total_tables(n * 8)
        .total_stacks(n)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_core_instances_per_component(32)
        .table_elements(TABLE_ELEMENTS)
        // Reset the first pages of a returned slot with memset rather than madvise: most
        // widget calls touch little memory, and each madvise costs a TLB shootdown on every
        // core. Decommits that remain go out in batches.
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES / 16)
        .async_stack_keep_resident(KEEP_RESIDENT_BYTES / 4)
        .decommit_batch_size((n as usize / 4).max(1))
        .max_memory_size(usize::try_from(max_memory).unwrap_or(usize::MAX));
    pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            tracing::warn!(error = %e, "pooling allocator unavailable; allocating plugin instances on demand");
            Engine::new(&base()?).map_err(|e| anyhow::anyhow!("plugin engine: {e}"))
        }
    }
}

/// Advances the engine's epoch every `tick` on a thread of its own, until the engine is dropped.
fn start_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the plugin epoch ticker");
    }
}
