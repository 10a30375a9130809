//! Tenants and the tenant context.
//!
//! A [`TenantCtx`] can only be obtained by loading a tenant that exists; every tenant-scoped
//! store function takes one, so a query that forgets its tenant does not compile. HTTP, the CLI
//! and tests resolve it here and pass it down.

use regex::Regex;
use sea_orm::ConnectionTrait;

use crate::access::Narrowing;
use crate::content::model::builtin_types;
use crate::error::FieldError;
use crate::store::{self, Db, content_types, tenants};
use crate::time::now_ms;

/// The tenant a request or command acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCtx {
    id: String,
    slug: String,
    name: String,
    locales: Vec<String>,
    default_locale: String,
    schema_version: i64,
    anonymous_read: bool,
    domains: Vec<String>,
    narrowing: std::sync::Arc<Narrowing>,
    created_at: i64,
    /// A digest of the settings, so caches can tell one configuration from another.
    settings_digest: u64,
    media: MediaLimits,
    versions: Option<VersionPolicy>,
    /// The revision of the tenant's plugin setups this request read with its credential;
    /// `None` when it did not read one (sessions, commands), and setups are then read afresh.
    plugins_rev: Option<i64>,
}

/// The tenant's own media quotas (setting `media`), which narrow the configuration's.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaLimits {
    /// Most bytes the tenant stores.
    pub max_bytes: Option<u64>,
    /// Largest file.
    pub max_file_bytes: Option<u64>,
    /// MIME types accepted (within the server's list), `type/*` allowed.
    pub allowed_types: Option<Vec<String>>,
}

/// A tenant's own version retention (`versions` in its settings), instead of the server's.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct VersionPolicy {
    /// Newest versions every entry keeps (at least 1).
    pub keep: u32,
    /// Versions younger than this many days stay too; 0 keeps every version.
    pub days: u32,
}

impl TenantCtx {
    fn from_row(row: tenants::TenantRow) -> Self {
        // Validated when written; a rule that no longer parses narrows nothing.
        let narrowing = row
            .settings
            .get("permissions")
            .and_then(|p| Narrowing::from_json(p).ok())
            .unwrap_or_default();
        let settings_digest = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            row.settings.to_string().hash(&mut h);
            row.locales.hash(&mut h);
            h.finish()
        };
        let media = row
            .settings
            .get("media")
            .and_then(|m| serde_json::from_value(m.clone()).ok())
            .unwrap_or_default();
        let versions = row
            .settings
            .get("versions")
            .and_then(|m| serde_json::from_value(m.clone()).ok());
        TenantCtx {
            media,
            versions,
            settings_digest,
            domains: row.domains,
            narrowing: std::sync::Arc::new(narrowing),
            created_at: row.created_at,
            anonymous_read: row
                .settings
                .get("anonymousRead")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            id: row.id,
            slug: row.slug,
            name: row.name,
            locales: row.locales,
            default_locale: row.default_locale,
            schema_version: row.schema_version,
            plugins_rev: None,
        }
    }
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn slug(&self) -> &str {
        &self.slug
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The tenant's locales; the first is the default.
    pub fn locales(&self) -> &[String] {
        &self.locales
    }
    pub fn default_locale(&self) -> &str {
        &self.default_locale
    }
    /// Whether clients without a token may read published content.
    pub fn anonymous_read(&self) -> bool {
        self.anonymous_read
    }
    /// Host names that select this tenant.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }
    /// The tenant's narrowing of roles per content type.
    pub fn narrowing(&self) -> &Narrowing {
        &self.narrowing
    }
    /// Changes whenever the tenant's settings or locales change.
    pub fn settings_digest(&self) -> u64 {
        self.settings_digest
    }
    pub fn created_at(&self) -> i64 {
        self.created_at
    }
    pub fn media_limits(&self) -> &MediaLimits {
        &self.media
    }
    /// The tenant's own version retention, if it set one.
    pub fn version_policy(&self) -> Option<VersionPolicy> {
        self.versions
    }
    pub fn schema_version(&self) -> i64 {
        self.schema_version
    }
    /// See [`Self::with_plugins_rev`].
    pub fn plugins_rev(&self) -> Option<i64> {
        self.plugins_rev
    }
    /// The same tenant as seen by a request that read `tenants.plugins_rev` with its
    /// credential: plugin setups kept in memory at that revision are still current.
    pub fn with_plugins_rev(mut self, rev: Option<i64>) -> Self {
        self.plugins_rev = rev;
        self
    }
    /// The locale a reader gets: the requested one if the tenant has it, else the default.
    pub fn resolve_locale<'a>(&'a self, requested: Option<&'a str>) -> &'a str {
        match requested {
            Some(l) if self.locales.iter().any(|x| x == l) => l,
            _ => &self.default_locale,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error("invalid tenant: {}", crate::error::describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("tenant `{0}` already exists")]
    Exists(String),
    #[error("unknown tenant `{0}`")]
    Unknown(String),
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
}

impl TenancyError {
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            TenancyError::Invalid(_) => ErrorCode::BadUserInput,
            TenancyError::Exists(_) => ErrorCode::Conflict,
            TenancyError::Unknown(_) => ErrorCode::UnknownTenant,
            TenancyError::Db(_) => ErrorCode::Internal,
        }
    }
}

/// What creating a tenant takes.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    /// The first locale is the default.
    pub locales: Vec<String>,
    pub domains: Vec<String>,
}

fn slug_rule() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    #[allow(clippy::unwrap_used)] // a literal
    RE.get_or_init(|| Regex::new("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$").unwrap())
}

fn locale_rule() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    #[allow(clippy::unwrap_used)] // a literal
    RE.get_or_init(|| Regex::new("^[a-z]{2,3}(?:-[A-Z]{2})?$").unwrap())
}

/// The format rules of a tenant's domains. A tenant may not claim a host that is not its own to
/// claim: the platform's hosts (`platform_hosts`), `localhost`, an IP address or a single-label
/// name; requests to such a host would otherwise log in to, and read from, the claimant's
/// tenant.
fn check_domains(domains: &[String], platform_hosts: &[String], errors: &mut Vec<FieldError>) {
    if domains.len() > 20 {
        errors.push(FieldError::new("domains", "maxItems", "at most 20 domains"));
    }
    for (i, d) in domains.iter().enumerate() {
        if d.len() > 253 || !domain_rule().is_match(d) {
            errors.push(FieldError::new(
                format!("domains[{i}]"),
                "hostname",
                "a lowercase host name such as chambre.example.ma",
            ));
        } else if let Some(why) = reserved_host(d, platform_hosts) {
            errors.push(FieldError::new(format!("domains[{i}]"), "reserved", why));
        }
    }
}

/// Why a host cannot be a tenant's domain, if it cannot.
fn reserved_host(host: &str, platform_hosts: &[String]) -> Option<String> {
    if platform_hosts.iter().any(|p| p.eq_ignore_ascii_case(host)) {
        return Some(format!("`{host}` is a host of the platform itself"));
    }
    if host == "localhost" {
        return Some("`localhost` is every machine's own name".into());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Some(format!("`{host}` is an IP address, not a host name"));
    }
    if !host.contains('.') {
        return Some(format!(
            "`{host}` is a single-label name; give a full host name such as chambre.example.ma"
        ));
    }
    None
}

/// The first of `domains` that another tenant (not `owner`) already serves, as a field error.
async fn domain_taken(
    conn: &impl ConnectionTrait,
    owner: Option<&str>,
    domains: &[String],
) -> Result<Option<FieldError>, TenancyError> {
    if domains.is_empty() {
        return Ok(None);
    }
    let others = tenants::list(conn).await?;
    Ok(domains.iter().enumerate().find_map(|(i, d)| {
        others
            .iter()
            .any(|t| Some(t.id.as_str()) != owner && t.domains.contains(d))
            .then(|| {
                FieldError::new(
                    format!("domains[{i}]"),
                    "unique",
                    format!("`{d}` already belongs to another tenant"),
                )
            })
    }))
}

fn check(new: &NewTenant, platform_hosts: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_domains(&new.domains, platform_hosts, &mut errors);
    if !slug_rule().is_match(&new.slug) {
        errors.push(FieldError::new(
            "slug",
            "pattern",
            "lowercase ASCII letters, digits and inner dashes, at most 63",
        ));
    }
    let name_len = new.name.trim().chars().count();
    if !(1..=200).contains(&name_len) {
        errors.push(FieldError::new("name", "length", "1 to 200 characters"));
    }
    check_locales(&new.locales, &mut errors);
    errors
}

/// A tenant's locale list: 1 to 20 distinct locale codes.
fn check_locales(locales: &[String], errors: &mut Vec<FieldError>) {
    if locales.is_empty() || locales.len() > 20 {
        errors.push(FieldError::new("locales", "length", "1 to 20 locales"));
    }
    for (i, l) in locales.iter().enumerate() {
        if !locale_rule().is_match(l) {
            errors.push(FieldError::new(
                format!("locales[{i}]"),
                "pattern",
                format!("`{l}` is not a locale code such as ar, fr, en-US"),
            ));
        }
        if locales[..i].contains(l) {
            errors.push(FieldError::new(
                format!("locales[{i}]"),
                "unique",
                format!("`{l}` is listed twice"),
            ));
        }
    }
}

/// Creates a tenant with the built-in content types, in one transaction. `platform_hosts`
/// (config) are hosts no tenant may claim.
pub async fn create(
    db: &Db,
    new: NewTenant,
    platform_hosts: &[String],
) -> Result<TenantCtx, TenancyError> {
    let txn = store::begin_platform_write(db).await?;
    let ctx = create_in(&txn, new, platform_hosts).await?;
    txn.commit().await?;
    tracing::info!(tenant = %ctx.slug, "tenant created");
    Ok(ctx)
}

/// Creates a tenant in the caller's platform write transaction (see `store::begin_platform_write`),
/// so that what is created with it (its first admin, the audit row) commits or fails with it.
pub async fn create_in(
    txn: &sea_orm::DatabaseTransaction,
    new: NewTenant,
    platform_hosts: &[String],
) -> Result<TenantCtx, TenancyError> {
    let errors = check(&new, platform_hosts);
    if !errors.is_empty() {
        return Err(TenancyError::Invalid(errors));
    }
    if tenants::find_by_slug(txn, &new.slug).await?.is_some() {
        return Err(TenancyError::Exists(new.slug));
    }
    if let Some(taken) = domain_taken(txn, None, &new.domains).await? {
        return Err(TenancyError::Invalid(vec![taken]));
    }
    let now = now_ms();
    let row = tenants::TenantRow {
        id: uuid::Uuid::now_v7().to_string(),
        slug: new.slug.clone(),
        name: new.name.trim().to_owned(),
        default_locale: new.locales[0].clone(),
        locales: new.locales,
        domains: new.domains,
        settings: serde_json::json!({ "anonymousRead": false }),
        schema_version: 1,
        created_at: now,
    };
    tenants::insert(txn, &row).await.map_err(|e| {
        if store::is_unique_violation(&e) {
            TenancyError::Exists(new.slug.clone())
        } else {
            TenancyError::Db(e)
        }
    })?;
    let ctx = TenantCtx::from_row(row);
    for ct in builtin_types() {
        content_types::upsert(txn, &ctx, &ct.name, &ct.to_json(), now).await?;
    }
    Ok(ctx)
}

pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<TenantCtx, TenancyError> {
    tenants::find_by_slug(db, slug)
        .await?
        .map(TenantCtx::from_row)
        .ok_or_else(|| TenancyError::Unknown(slug.to_owned()))
}

pub async fn by_id(db: &impl ConnectionTrait, id: &str) -> Result<TenantCtx, TenancyError> {
    tenants::find_by_id(db, id)
        .await?
        .map(TenantCtx::from_row)
        .ok_or_else(|| TenancyError::Unknown(id.to_owned()))
}

pub async fn list(db: &Db) -> Result<Vec<TenantCtx>, TenancyError> {
    Ok(tenants::list(db)
        .await?
        .into_iter()
        .map(TenantCtx::from_row)
        .collect())
}

/// Lets anonymous clients read published content (or not).
pub async fn set_anonymous_read(
    db: &Db,
    slug: &str,
    allow: bool,
) -> Result<TenantCtx, TenancyError> {
    let txn = store::begin_write(db).await?;
    let row = tenants::find_by_slug(&txn, slug)
        .await?
        .ok_or_else(|| TenancyError::Unknown(slug.to_owned()))?;
    let mut settings = row.settings.clone();
    settings["anonymousRead"] = serde_json::Value::Bool(allow);
    tenants::update_settings(&txn, &row.id, &settings, now_ms()).await?;
    txn.commit().await?;
    by_slug(db, slug).await
}

/// A change to a tenant's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub name: Option<String>,
    /// The whole new locale list: locales can be added, never removed (their stored values
    /// would go with them), so the default locale stays.
    pub locales: Option<Vec<String>>,
    pub domains: Option<Vec<String>>,
    pub anonymous_read: Option<bool>,
    /// The `permissions` narrowing (see `access::Narrowing`); `Some(Null)` removes it.
    pub permissions: Option<serde_json::Value>,
    /// Media quotas; `Some(None)` removes them.
    pub media: Option<Option<MediaLimits>>,
    /// Version retention; `Some(None)` returns to the server's.
    pub versions: Option<Option<VersionPolicy>>,
}

fn domain_rule() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    #[allow(clippy::unwrap_used)] // a literal
    RE.get_or_init(|| {
        Regex::new(
            "^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
        )
        .unwrap()
    })
}

/// Changes a tenant's settings after checking every field; `known_types` are the tenant's
/// content types, which permission rules must name.
pub async fn update_settings(
    db: &Db,
    ctx: &TenantCtx,
    change: SettingsChange,
    known_types: &[String],
    platform_hosts: &[String],
    audit_event: crate::audit::Event<'_>,
) -> Result<TenantCtx, TenancyError> {
    let mut errors = Vec::new();
    if let Some(name) = &change.name
        && !(1..=200).contains(&name.trim().chars().count())
    {
        errors.push(FieldError::new("name", "length", "1 to 200 characters"));
    }
    if let Some(domains) = &change.domains {
        check_domains(domains, platform_hosts, &mut errors);
    }
    if let Some(locales) = &change.locales {
        check_locales(locales, &mut errors);
    }
    if let Some(p) = change.permissions.as_ref().filter(|p| !p.is_null()) {
        match Narrowing::from_json(p) {
            Ok(n) => {
                for t in n.type_names() {
                    if !known_types.iter().any(|k| k == t) {
                        errors.push(FieldError::new(
                            format!("permissions.*.{t}"),
                            "exists",
                            format!("no content type `{t}`"),
                        ));
                    }
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    if let Some(Some(m)) = &change.media {
        for (name, v) in [
            ("maxBytes", m.max_bytes),
            ("maxFileBytes", m.max_file_bytes),
        ] {
            if v.is_some_and(|v| v > i64::MAX as u64) {
                errors.push(FieldError::new(
                    format!("media.{name}"),
                    "max",
                    format!("at most {}", i64::MAX),
                ));
            }
        }
    }
    if let Some(Some(m)) = &change.media
        && let Some(types) = &m.allowed_types
    {
        for (i, t) in types.iter().enumerate() {
            let ok = t.split_once('/').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/+.-*".contains(c))
            });
            if !ok {
                errors.push(FieldError::new(
                    format!("media.allowedTypes[{i}]"),
                    "format",
                    "a MIME type such as `image/png` or `image/*`",
                ));
            }
        }
    }
    if let Some(Some(v)) = &change.versions
        && v.keep == 0
    {
        errors.push(FieldError::new(
            "versions.keep",
            "min",
            "every entry keeps at least 1 version",
        ));
    }
    if !errors.is_empty() {
        return Err(TenancyError::Invalid(errors));
    }
    let txn = if change.domains.is_some() {
        store::begin_platform_write(db).await?
    } else {
        store::begin_write(db).await?
    };
    let mut row = tenants::find_by_id(&txn, ctx.id())
        .await?
        .ok_or_else(|| TenancyError::Unknown(ctx.slug().to_owned()))?;
    if let Some(domains) = &change.domains {
        if let Some(taken) = domain_taken(&txn, Some(&row.id), domains).await? {
            return Err(TenancyError::Invalid(vec![taken]));
        }
        row.domains = domains.clone();
    }
    if let Some(name) = change.name {
        row.name = name.trim().to_owned();
    }
    if let Some(locales) = change.locales {
        // Checked against the row read in this transaction, not the request's view of it.
        let removed: Vec<FieldError> = row
            .locales
            .iter()
            .filter(|kept| !locales.contains(kept))
            .map(|kept| {
                FieldError::new(
                    "locales",
                    "keep",
                    format!(
                        "`{kept}` cannot be removed: the values stored in it would be lost; locales can only be added"
                    ),
                )
            })
            .collect();
        if !removed.is_empty() {
            return Err(TenancyError::Invalid(removed));
        }
        row.locales = locales;
    }
    if let Some(allow) = change.anonymous_read {
        row.settings["anonymousRead"] = serde_json::Value::Bool(allow);
    }
    match change.permissions {
        Some(serde_json::Value::Null) => {
            if let Some(m) = row.settings.as_object_mut() {
                m.remove("permissions");
            }
        }
        Some(p) => row.settings["permissions"] = p,
        None => {}
    }
    match change.media {
        Some(None) => {
            if let Some(m) = row.settings.as_object_mut() {
                m.remove("media");
            }
        }
        Some(Some(limits)) => {
            row.settings["media"] = serde_json::to_value(limits).unwrap_or_default();
        }
        None => {}
    }
    match change.versions {
        Some(None) => {
            if let Some(m) = row.settings.as_object_mut() {
                m.remove("versions");
            }
        }
        Some(Some(v)) => row.settings["versions"] = serde_json::to_value(v).unwrap_or_default(),
        None => {}
    }
    tenants::update(&txn, &row, now_ms()).await?;
    // The change and its audit row commit together.
    crate::audit::record(&txn, audit_event).await?;
    txn.commit().await?;
    Ok(TenantCtx::from_row(row))
}

/// Deletes a tenant and all its data.
pub async fn delete(db: &Db, slug: &str) -> Result<(), TenancyError> {
    let txn = store::begin_write(db).await?;
    let ctx = by_slug(&txn, slug).await?;
    tenants::delete(&txn, ctx.id()).await?;
    txn.commit().await?;
    tracing::info!(tenant = %slug, "tenant deleted");
    Ok(())
}

/// A short-lived per-node cache of tenant rows, so that a request does not read the tenant row
/// every time. Entries live `ttl` (default 500 ms): a change to a tenant (its schema version, its
/// settings) reaches every node within that time, well inside the one-second promise.
#[derive(Clone)]
pub struct TenantCache {
    ttl: std::time::Duration,
    entries: std::sync::Arc<
        std::sync::RwLock<std::collections::HashMap<String, (std::time::Instant, TenantCtx)>>,
    >,
    hosts: std::sync::Arc<std::sync::RwLock<HostMap>>,
}

impl Default for TenantCache {
    fn default() -> Self {
        TenantCache {
            ttl: std::time::Duration::from_millis(500),
            entries: Default::default(),
            hosts: Default::default(),
        }
    }
}

impl TenantCache {
    /// Drops every cached row on this node (after a change made here; other nodes follow
    /// within the time to live).
    pub fn forget(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
        if let Ok(mut hosts) = self.hosts.write() {
            *hosts = None;
        }
    }

    fn cached(&self, key: &str) -> Option<TenantCtx> {
        let entries = self.entries.read().ok()?;
        let (at, ctx) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| ctx.clone())
    }

    fn keep(&self, key: String, ctx: &TenantCtx) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(key, (std::time::Instant::now(), ctx.clone()));
        }
    }

    async fn through(
        &self,
        key: String,
        load: impl Future<Output = Result<TenantCtx, TenancyError>>,
    ) -> Result<TenantCtx, TenancyError> {
        if let Some(ctx) = self.cached(&key) {
            return Ok(ctx);
        }
        let ctx = load.await?;
        self.keep(key, &ctx);
        Ok(ctx)
    }

    pub async fn by_id(&self, db: &Db, id: &str) -> Result<TenantCtx, TenancyError> {
        self.through(format!("id:{id}"), by_id(db, id)).await
    }

    pub async fn by_slug(&self, db: &Db, slug: &str) -> Result<TenantCtx, TenancyError> {
        self.through(format!("slug:{slug}"), by_slug(db, slug))
            .await
    }

    /// The tenant serving a host name. Hosts are looked up in a map of every tenant's domains
    /// that lives as long as the other cached rows, so a flood of unknown `Host` headers costs
    /// at most one read of the tenant list per time to live, not one per request.
    pub async fn by_domain(&self, db: &Db, host: &str) -> Result<Option<TenantCtx>, TenancyError> {
        let host = host.to_ascii_lowercase();
        let fresh = self.hosts.read().ok().and_then(|h| {
            h.as_ref()
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, m)| m.clone())
        });
        let hosts = match fresh {
            Some(map) => map,
            None => {
                let mut map = std::collections::HashMap::new();
                for t in list(db).await? {
                    for d in &t.domains {
                        map.insert(d.to_ascii_lowercase(), t.clone());
                    }
                }
                let map = std::sync::Arc::new(map);
                if let Ok(mut h) = self.hosts.write() {
                    *h = Some((std::time::Instant::now(), map.clone()));
                }
                map
            }
        };
        Ok(hosts.get(&host).cloned())
    }
}

/// Every tenant domain (lowercase) and its tenant, with the time it was read.
type HostMap = Option<(
    std::time::Instant,
    std::sync::Arc<std::collections::HashMap<String, TenantCtx>>,
)>;
