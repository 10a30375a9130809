//! The plugin registry: installing components with their manifests (platform-wide by operators,
//! or private to one tenant), keeping every version, and enabling a plugin for a tenant with a
//! checked configuration, explicit capability grants and narrowed limits. Everything lives in
//! the database, so every node sees an install or a change at its next request.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::manifest::{Capability, Manifest};
use super::{CallLimits, PluginError, PluginHost};
use crate::audit;
use crate::error::FieldError;
use crate::store::{self, plugins as repo};
use crate::tenancy::TenantCtx;
use crate::time::now_ms;

/// Where a plugin is installed: for every tenant, or privately for one.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Platform,
    Tenant(&'a TenantCtx),
}

impl Scope<'_> {
    fn owner(&self) -> Option<&str> {
        match self {
            Scope::Platform => None,
            Scope::Tenant(t) => Some(t.id()),
        }
    }
}

/// A plugin version as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginVersionInfo {
    pub version: String,
    pub sha256: String,
    pub installed_at: String,
}

/// A plugin as a tenant (or an operator) sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginInfo {
    pub id: String,
    /// `platform`, or `tenant` for a tenant's private plugin.
    pub scope: String,
    pub latest_version: String,
    pub description: String,
    pub capabilities: Vec<String>,
    pub hooks: Vec<String>,
    pub widgets: Vec<String>,
    /// The manifest's JSON Schema of the tenant configuration.
    #[schema(value_type = Object)]
    pub config_schema: Value,
    pub versions: Vec<PluginVersionInfo>,
    /// The tenant's setup, when listed for a tenant that has one.
    pub setup: Option<SetupInfo>,
}

/// How a tenant set a plugin up.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupInfo {
    pub enabled: bool,
    pub version: String,
    #[schema(value_type = Object)]
    pub config: Value,
    pub grants: Vec<String>,
    pub limits: TenantLimits,
}

/// Limits a tenant sets for one plugin; each may only narrow the host's and the manifest's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantLimits {
    pub timeout_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    pub calls_per_minute: Option<u32>,
}

/// What an enable (or a settings change) asks for; absent parts keep the current setup.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnableInput {
    /// A version installed for this plugin; default: the current one, else the latest.
    pub version: Option<String>,
    /// The configuration object, checked against the manifest's schema; default `{}`.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// Capabilities granted, each one the manifest asks for; default: none.
    pub grants: Option<Vec<String>>,
    pub limits: Option<TenantLimits>,
}

/// A plugin enabled for a tenant, resolved for calls.
#[derive(Debug, Clone)]
pub struct Enabled {
    pub plugin_id: String,
    pub version: String,
    pub sha256: String,
    pub manifest: Arc<Manifest>,
    pub config_json: String,
    pub config_digest: u64,
    pub grants: BTreeSet<Capability>,
    pub limits: CallLimits,
}

impl Enabled {
    pub fn grants_digest(&self) -> String {
        self.grants
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Installs a plugin version: checks the manifest, compiles the component and checks that it
/// implements the world with only the imports this host provides, then stores both. Installing
/// the same bytes again under the same version changes nothing.
pub async fn install(
    host: &PluginHost,
    scope: Scope<'_>,
    wasm: Vec<u8>,
    manifest_text: &str,
    actor: &str,
) -> Result<PluginInfo, PluginError> {
    let config = host.config();
    if wasm.len() > config.component_bytes {
        return Err(PluginError::invalid(
            "component",
            "maxBytes",
            format!(
                "the component has {} bytes; at most {} allowed",
                wasm.len(),
                config.component_bytes
            ),
        ));
    }
    let manifest = Manifest::parse(manifest_text, config.max_timeout_ms, config.max_memory_mib)
        .map_err(PluginError::Invalid)?;
    let sha = sha256_hex(&wasm);
    let prepared = {
        let host = host.clone();
        let wasm = wasm.clone();
        tokio::task::spawn_blocking(move || host.prepare(&wasm))
            .await
            .map_err(|e| PluginError::Engine(e.to_string()))??
    };
    let manifest_json =
        serde_json::to_string(&manifest).map_err(|e| PluginError::Engine(e.to_string()))?;
    let db = host.db();
    let txn = store::begin_platform_write(db).await?;
    if let Scope::Tenant(_) = scope
        && repo::find_in_scope(&txn, None, &manifest.id)
            .await?
            .is_some()
    {
        return Err(PluginError::Conflict(format!(
            "`{}` is the id of a platform plugin; choose another id",
            manifest.id
        )));
    }
    let now = now_ms();
    let row = match repo::find_in_scope(&txn, scope.owner(), &manifest.id).await? {
        Some(row) => row,
        None => {
            let row = repo::PluginRow {
                id: uuid::Uuid::now_v7().to_string(),
                plugin_id: manifest.id.clone(),
                owner_tenant_id: scope.owner().map(str::to_owned),
                latest_version: manifest.version.clone(),
                created_at: now,
                updated_at: now,
            };
            repo::insert_plugin(&txn, &row).await?;
            row
        }
    };
    match repo::version(&txn, &row.id, &manifest.version).await? {
        Some(v) if v.sha256 == sha => {}
        Some(_) => {
            return Err(PluginError::Conflict(format!(
                "version {} of `{}` is installed with other bytes; give the new build a new version",
                manifest.version, manifest.id
            )));
        }
        None => {
            repo::insert_version(
                &txn,
                &row.id,
                &manifest.version,
                &manifest_json,
                &wasm,
                &sha,
                now,
                actor,
            )
            .await?;
            if version_key(&manifest.version) >= version_key(&row.latest_version) {
                repo::set_latest(&txn, &row.id, &manifest.version, now).await?;
            }
            let tenant = match scope {
                Scope::Tenant(t) => Some(t),
                Scope::Platform => None,
            };
            audit::record(
                &txn,
                audit::Event::new(tenant, actor, "plugin.installed")
                    .target(format!("plugin/{}", manifest.id))
                    .detail(serde_json::json!({ "version": manifest.version, "sha256": sha })),
            )
            .await?;
        }
    }
    txn.commit().await?;
    host.lock_pres().insert(sha, prepared);
    info(host, scope_tenant(scope), &manifest.id)
        .await?
        .ok_or_else(|| PluginError::NotFound(manifest.id.clone()))
}

fn scope_tenant<'a>(scope: Scope<'a>) -> Option<&'a TenantCtx> {
    match scope {
        Scope::Platform => None,
        Scope::Tenant(t) => Some(t),
    }
}

/// Orders versions numerically (`0.10.0` after `0.9.0`).
fn version_key(v: &str) -> Vec<u64> {
    v.split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// One plugin as `tenant` sees it (or as the platform does, with `None`).
pub async fn info(
    host: &PluginHost,
    tenant: Option<&TenantCtx>,
    plugin_id: &str,
) -> Result<Option<PluginInfo>, PluginError> {
    let db = host.db();
    let Some(row) = repo::find_visible(db, tenant.map(|t| t.id()), plugin_id).await? else {
        return Ok(None);
    };
    Ok(Some(describe(host, tenant, row).await?))
}

/// Every plugin `tenant` can see (platform and its own), or every platform plugin.
pub async fn list(
    host: &PluginHost,
    tenant: Option<&TenantCtx>,
) -> Result<Vec<PluginInfo>, PluginError> {
    let rows = repo::list_visible(host.db(), tenant.map(|t| t.id())).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(describe(host, tenant, row).await?);
    }
    Ok(out)
}

async fn describe(
    host: &PluginHost,
    tenant: Option<&TenantCtx>,
    row: repo::PluginRow,
) -> Result<PluginInfo, PluginError> {
    let db = host.db();
    let versions = repo::versions(db, &row.id).await?;
    let latest = versions
        .iter()
        .find(|v| v.version == row.latest_version)
        .or(versions.first())
        .ok_or_else(|| PluginError::NotFound(format!("versions of {}", row.plugin_id)))?;
    let manifest = stored_manifest(&latest.manifest)?;
    let setup = match tenant {
        Some(t) => repo::tenant_plugin(db, t.id(), &row.plugin_id)
            .await?
            .filter(|s| s.plugin_row_id == row.id)
            .map(|s| setup_info(&s))
            .transpose()?,
        None => None,
    };
    Ok(PluginInfo {
        id: row.plugin_id,
        scope: if row.owner_tenant_id.is_some() {
            "tenant".into()
        } else {
            "platform".into()
        },
        latest_version: row.latest_version,
        description: manifest.description.clone(),
        capabilities: manifest
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        hooks: manifest
            .hooks
            .iter()
            .map(|h| match h {
                super::Hook::BeforeSave => "before-save".to_owned(),
                super::Hook::AfterPublish => "after-publish".to_owned(),
            })
            .collect(),
        widgets: manifest.widgets.iter().map(|w| w.name.clone()).collect(),
        config_schema: manifest.config_schema.clone(),
        versions: versions
            .iter()
            .map(|v| PluginVersionInfo {
                version: v.version.clone(),
                sha256: v.sha256.clone(),
                installed_at: crate::time::to_rfc3339(v.created_at),
            })
            .collect(),
        setup,
    })
}

fn stored_manifest(text: &str) -> Result<Manifest, PluginError> {
    Manifest::from_stored(text).map_err(|e| PluginError::Engine(format!("stored manifest: {e}")))
}

fn setup_info(row: &repo::EnabledRow) -> Result<SetupInfo, PluginError> {
    let bad = |e: serde_json::Error| PluginError::Engine(format!("stored plugin setup: {e}"));
    Ok(SetupInfo {
        enabled: row.enabled,
        version: row.version.clone(),
        config: serde_json::from_str(&row.config).map_err(bad)?,
        grants: serde_json::from_str(&row.grants).map_err(bad)?,
        limits: serde_json::from_str(&row.limits).map_err(bad)?,
    })
}

/// Enables a plugin for the tenant (or changes its setup), checking version, grants,
/// configuration and limits; every problem names its field.
pub async fn enable(
    host: &PluginHost,
    tenant: &TenantCtx,
    plugin_id: &str,
    input: EnableInput,
    actor: &str,
) -> Result<PluginInfo, PluginError> {
    set_up(host, tenant, plugin_id, Some(input), true, actor).await
}

/// Disables a plugin for the tenant; its setup is kept for a later enable.
pub async fn disable(
    host: &PluginHost,
    tenant: &TenantCtx,
    plugin_id: &str,
    actor: &str,
) -> Result<PluginInfo, PluginError> {
    set_up(host, tenant, plugin_id, None, false, actor).await
}

async fn set_up(
    host: &PluginHost,
    tenant: &TenantCtx,
    plugin_id: &str,
    input: Option<EnableInput>,
    enabled: bool,
    actor: &str,
) -> Result<PluginInfo, PluginError> {
    let (txn, _) = store::begin_tenant_write(host.db(), tenant.id()).await?;
    let row = repo::find_visible(&txn, Some(tenant.id()), plugin_id)
        .await?
        .ok_or_else(|| PluginError::NotFound(format!("plugin {plugin_id}")))?;
    let current = repo::tenant_plugin(&txn, tenant.id(), plugin_id)
        .await?
        .filter(|s| s.plugin_row_id == row.id);
    let current_info = current.as_ref().map(setup_info).transpose()?;
    let input = input.unwrap_or_default();
    let version = input
        .version
        .clone()
        .or_else(|| current_info.as_ref().map(|c| c.version.clone()))
        .unwrap_or_else(|| row.latest_version.clone());
    let version_row = repo::version(&txn, &row.id, &version)
        .await?
        .ok_or_else(|| {
            PluginError::invalid(
                "version",
                "exists",
                format!("version {version} of `{plugin_id}` is not installed"),
            )
        })?;
    let manifest = stored_manifest(&version_row.manifest)?;
    let mut errors = Vec::new();
    let grants: Vec<String> = match input.grants {
        Some(g) => g,
        None => current_info
            .as_ref()
            .map(|c| c.grants.clone())
            .unwrap_or_default(),
    };
    let mut granted = BTreeSet::new();
    for (i, g) in grants.iter().enumerate() {
        match Capability::parse(g) {
            Some(c) if manifest.capabilities.contains(&c) => {
                granted.insert(c);
            }
            Some(_) => errors.push(FieldError::new(
                format!("grants[{i}]"),
                "declared",
                format!("`{plugin_id}` does not ask for `{g}`"),
            )),
            None => errors.push(FieldError::new(
                format!("grants[{i}]"),
                "enum",
                "one of log, entries, kv, now",
            )),
        }
    }
    let config = match input.config {
        Some(c) => c,
        None => current_info
            .as_ref()
            .map(|c| c.config.clone())
            .unwrap_or_else(|| serde_json::json!({})),
    };
    if enabled && let Err(e) = manifest.check_config(&config) {
        errors.extend(e);
    }
    let limits = match input.limits {
        Some(l) => l,
        None => current_info.map(|c| c.limits).unwrap_or_default(),
    };
    if limits.timeout_ms == Some(0) {
        errors.push(FieldError::new("limits.timeoutMs", "min", "at least 1"));
    }
    if limits.memory_mib == Some(0) {
        errors.push(FieldError::new("limits.memoryMib", "min", "at least 1"));
    }
    if limits.calls_per_minute == Some(0) {
        errors.push(FieldError::new(
            "limits.callsPerMinute",
            "min",
            "at least 1",
        ));
    }
    if !errors.is_empty() {
        return Err(PluginError::Invalid(errors));
    }
    let grants_json: Vec<&str> = granted.iter().map(|c| c.as_str()).collect();
    repo::upsert_tenant_plugin(
        &txn,
        tenant.id(),
        &row.id,
        &version,
        enabled,
        &to_json(&config),
        &to_json(&grants_json),
        &to_json(&limits),
        now_ms(),
    )
    .await?;
    store::outbox::record(
        &txn,
        tenant,
        vec![store::outbox::NewEvent {
            kind: store::outbox::EventKind::PluginChanged,
            entry_type: None,
            entry_id: None,
            payload: serde_json::json!({ "plugin": plugin_id, "version": version, "enabled": enabled }),
        }],
        now_ms(),
    )
    .await?;
    audit::record(
        &txn,
        audit::Event::new(
            Some(tenant),
            actor,
            if enabled {
                "plugin.enabled"
            } else {
                "plugin.disabled"
            },
        )
        .target(format!("plugin/{plugin_id}"))
        .detail(serde_json::json!({ "version": version, "grants": grants_json })),
    )
    .await?;
    txn.commit().await?;
    info(host, Some(tenant), plugin_id)
        .await?
        .ok_or_else(|| PluginError::NotFound(plugin_id.to_owned()))
}

/// Setup parts as stored (plain values, so serialization cannot fail).
fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// The plugin `plugin_id` as the tenant enabled it; `FORBIDDEN` when the tenant has not.
///
/// `event_seq` is the tenant's outbox sequence read by this request (with its credential).
/// Every change to a setup records an outbox event (`plugin.changed`), so a setup this node
/// read at the same sequence is still the current one and the lookup is skipped.
pub async fn enabled(
    host: &PluginHost,
    tenant: &TenantCtx,
    event_seq: Option<i64>,
    plugin_id: &str,
) -> Result<Arc<Enabled>, PluginError> {
    if let Some(seq) = event_seq
        && let Some(setup) = host.setup_at(tenant.id(), plugin_id, seq)
    {
        return Ok(setup);
    }
    let row = repo::tenant_plugin(host.content().reads(), tenant.id(), plugin_id)
        .await?
        .filter(|r| r.enabled)
        .ok_or_else(|| {
            PluginError::Forbidden(format!(
                "plugin `{plugin_id}` is not enabled for this tenant"
            ))
        })?;
    let setup = Arc::new(resolve(host, row)?);
    if let Some(seq) = event_seq {
        host.keep_setup(tenant.id(), seq, setup.clone());
    }
    Ok(setup)
}

/// Every plugin the tenant has enabled.
pub async fn enabled_all(
    host: &PluginHost,
    tenant: &TenantCtx,
) -> Result<Vec<Enabled>, PluginError> {
    repo::tenant_plugins(host.content().reads(), tenant.id())
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .map(|r| resolve(host, r))
        .collect()
}

fn resolve(host: &PluginHost, row: repo::EnabledRow) -> Result<Enabled, PluginError> {
    let manifest = host.manifest(
        &format!("{}/{}/{}", row.plugin_row_id, row.version, row.sha256),
        &row.manifest,
    )?;
    let grants: Vec<String> = serde_json::from_str(&row.grants)
        .map_err(|e| PluginError::Engine(format!("stored grants: {e}")))?;
    let tenant_limits: TenantLimits = serde_json::from_str(&row.limits)
        .map_err(|e| PluginError::Engine(format!("stored limits: {e}")))?;
    let config = host.config();
    let narrow = |base: u64, ask: Option<u64>, ceiling: u64, tenant: Option<u64>| {
        let v = ask.unwrap_or(base).min(ceiling.max(base));
        tenant.map_or(v, |t| t.min(v))
    };
    let limits = CallLimits {
        timeout_ms: narrow(
            config.timeout_ms,
            manifest.limits.timeout_ms,
            config.max_timeout_ms,
            tenant_limits.timeout_ms,
        ),
        memory_mib: narrow(
            config.memory_mib,
            manifest.limits.memory_mib,
            config.max_memory_mib,
            tenant_limits.memory_mib,
        ),
        calls_per_minute: tenant_limits
            .calls_per_minute
            .map_or(config.calls_per_minute, |t| t.min(config.calls_per_minute)),
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    row.config.hash(&mut hasher);
    Ok(Enabled {
        plugin_id: row.plugin_id,
        version: row.version,
        sha256: row.sha256,
        manifest,
        config_digest: hasher.finish(),
        config_json: row.config,
        grants: grants.iter().filter_map(|g| Capability::parse(g)).collect(),
        limits,
    })
}
