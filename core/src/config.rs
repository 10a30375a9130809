//! Typed, layered configuration: defaults in code → optional `zellige.toml` → `ZELLIGE_*`
//! environment variables (nested keys split on `__`, e.g. `ZELLIGE_DB__MAX_CONNECTIONS`) → CLI
//! flags. Loaded once in `main` and shared as `Arc<Config>`; nothing else reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A secret value (database URL with a password, API keys). Printed masked.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The real value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"********\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("********")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded database, search index, media and plugin files live.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; default: SQLite file `zellige.db` under `data_dir`.
    pub database_url: Option<Secret>,
    /// Address `serve` binds to.
    pub bind: SocketAddr,
    /// Host names the platform itself answers on (its API or console host): no tenant may
    /// claim them as a domain.
    pub platform_hosts: Vec<String>,
    /// Meilisearch URL; when absent the embedded index is used.
    pub meili_url: Option<String>,
    /// Meilisearch API key.
    pub meili_key: Option<Secret>,
    /// Prefix of the Meilisearch index names (one index per tenant: `<prefix><tenant id>`), so
    /// that several deployments can share one server.
    pub meili_index_prefix: String,
    /// How often the search indexer looks at the outbox, milliseconds.
    pub search_interval_ms: u64,
    /// How often due scheduled publishes and unpublishes are looked for, milliseconds.
    pub schedule_interval_ms: u64,
    /// At shutdown, how long the background workers (indexer, scheduler, webhooks, hooks,
    /// retention, media sweep) get to finish the pass they are in, milliseconds, before the
    /// database connections are closed anyway.
    pub shutdown_grace_ms: u64,
    /// When set, `GET /metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    pub log: LogConfig,
    pub db: DbConfig,
    pub limits: Limits,
    pub auth: AuthConfig,
    pub plugins: PluginsConfig,
    pub webhooks: WebhooksConfig,
    pub media: MediaConfig,
    pub retention: RetentionConfig,
}

/// What the outbox and the version history keep ([`crate::retention`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// How often retention runs, seconds (0: never).
    pub interval_secs: u64,
    /// Outbox events younger than this stay whatever the consumers, seconds (subscriptions
    /// and per-node caches compare recent sequences).
    pub outbox_min_age_secs: u64,
    /// A consumer silent for longer no longer holds outbox events back, hours: a node that
    /// left must not pin the outbox forever (its search index rebuilds if it comes back).
    pub consumer_stale_hours: u64,
    /// An entry keeps at least its newest `versions_keep` versions …
    pub versions_keep: u32,
    /// … and every version younger than this, days; older ones beyond the newest
    /// `versions_keep` go (the published version and the draft's always stay). 0: keep all.
    /// Tenants may set their own (`versions` in the settings).
    pub versions_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            interval_secs: 3_600,
            outbox_min_age_secs: 86_400,
            consumer_stale_hours: 72,
            versions_keep: 50,
            versions_days: 365,
        }
    }
}

/// The media library: where bytes live, what a tenant may store, and the bounds of image
/// transforms. A tenant's settings can narrow the quotas (`media` in its settings), never widen.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// S3-compatible object storage; when absent, files live under `data_dir/media`.
    pub s3: Option<S3Config>,
    /// Largest file, bytes.
    pub max_file_bytes: u64,
    /// Most bytes a tenant stores (each distinct content counted once).
    pub tenant_bytes: u64,
    /// MIME types accepted (detected from the bytes); `image/*` style prefixes allowed.
    pub allowed_types: Vec<String>,
    /// Largest image decoded for dimensions or transforms (width × height), so that a
    /// decompression bomb is refused before any pixel is allocated.
    pub max_pixels: u64,
    /// Largest side of a decoded image.
    pub max_side: u32,
    /// Largest width or height a transform may ask for.
    pub max_transform_side: u32,
    /// Transforms computed at once on a node (CPU-bound; the rest wait), 0 = half the cores.
    pub transform_workers: usize,
    /// Widths `w` may take; empty means any width up to `max_transform_side`.
    pub widths: Vec<u32>,
    /// Default quality of lossy encodings (1–100).
    pub quality: u8,
    /// `Cache-Control: max-age` of originals and metadata-bearing answers, seconds.
    pub max_age_seconds: u64,
    /// How often storage is swept of what a crash left behind (temporary uploads, bytes no
    /// asset names), seconds; younger objects are spared.
    pub sweep_interval_secs: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            s3: None,
            max_file_bytes: 100 * 1024 * 1024,
            tenant_bytes: 5 * 1024 * 1024 * 1024,
            allowed_types: [
                "image/jpeg",
                "image/png",
                "image/gif",
                "image/webp",
                "image/avif",
                "image/svg+xml",
                "application/pdf",
                "video/mp4",
                "video/webm",
                "audio/mpeg",
                "audio/ogg",
            ]
            .map(String::from)
            .to_vec(),
            max_pixels: 50_000_000,
            max_side: 16_384,
            max_transform_side: 2_560,
            transform_workers: 0,
            widths: Vec::new(),
            quality: 80,
            max_age_seconds: 3_600,
            sweep_interval_secs: 3_600,
        }
    }
}

/// An S3-compatible bucket (AWS, MinIO, Garage, Ceph …).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// Endpoint URL for non-AWS servers, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Key prefix inside the bucket, so that deployments can share one.
    #[serde(default)]
    pub prefix: String,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// Webhook deliveries: bounds on what one receiver can cost, retries, and the networks a
/// webhook may reach besides public addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Time for one delivery (connect, send, answer), milliseconds.
    pub timeout_ms: u64,
    /// Most of a receiver's answer read (the first KiB is kept in the delivery log).
    pub response_bytes: usize,
    /// Largest published document put in a payload; a larger one is sent as a link.
    pub payload_bytes: usize,
    /// Deliveries in flight on a node, and per tenant.
    pub concurrency: usize,
    pub per_tenant: usize,
    /// The unit of the retry schedule (×1, ×6, ×24 … ×5760: about a day at 5 s).
    pub retry_base_ms: u64,
    /// Attempts before a delivery is marked failed.
    pub attempts: u32,
    /// An endpoint failing for this long is disabled (and the audit log says so).
    pub disable_after_hours: u64,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub secret_overlap_hours: u64,
    /// Private networks webhooks may reach anyway (CIDR blocks, e.g. `10.0.0.0/8`).
    pub allow_private: Vec<String>,
    /// How often the fan-out and the sender look for work, milliseconds.
    pub interval_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            timeout_ms: 5_000,
            response_bytes: 64 * 1024,
            payload_bytes: 256 * 1024,
            concurrency: 32,
            per_tenant: 4,
            retry_base_ms: 5_000,
            attempts: 11,
            disable_after_hours: 72,
            secret_overlap_hours: 24,
            allow_private: Vec::new(),
            interval_ms: 100,
        }
    }
}

/// The plugin sandbox: the host's limits. A manifest may ask for more time or memory up to the
/// `max_*` ceilings the operator sets here; a tenant may only narrow what its plugins get.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// Time limit of one plugin call (fresh instance + call), milliseconds.
    pub timeout_ms: u64,
    /// Memory limit of one plugin instance, MiB.
    pub memory_mib: u64,
    /// The most time a manifest may ask for, milliseconds (operator approval).
    pub max_timeout_ms: u64,
    /// The most memory a manifest may ask for, MiB (operator approval).
    pub max_memory_mib: u64,
    /// Largest widget answer (HTML + data) and largest `before-save` result, bytes.
    pub output_bytes: usize,
    /// Largest component accepted at install, bytes.
    pub component_bytes: usize,
    /// Time limit of a plugin upload, which compiles the component before it answers (tens of
    /// seconds for a JavaScript or Python component on a busy node), milliseconds. Other
    /// requests keep `limits.request_timeout_ms`.
    pub install_timeout_ms: u64,
    /// Calls per minute per plugin per tenant, unless the tenant narrows it.
    pub calls_per_minute: u32,
    /// Rows an `entries.query` call may return (its page cap).
    pub query_rows: u32,
    /// `entries.query` calls one plugin call may make.
    pub queries_per_call: u32,
    /// `kv` keys one plugin may hold per tenant.
    pub kv_keys: u64,
    /// Precision of the time limit: the engine's epoch tick, milliseconds.
    pub epoch_tick_ms: u64,
    /// Instances the pooling allocator keeps ready (concurrent plugin calls per node).
    pub pool_instances: u32,
    /// Rendered widgets kept in memory (each at most its `cacheSeconds`); 0 turns it off.
    pub widget_cache_entries: u64,
    /// How often the `after-publish` hook runner looks at the outbox, milliseconds.
    pub hooks_interval_ms: u64,
    /// Keep compiled components on disk (`data_dir/plugin-cache`) so a restart does not
    /// recompile them.
    pub compile_cache: bool,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            timeout_ms: 50,
            memory_mib: 32,
            max_timeout_ms: 1_000,
            max_memory_mib: 128,
            output_bytes: 1024 * 1024,
            component_bytes: 64 * 1024 * 1024,
            install_timeout_ms: 300_000,
            calls_per_minute: 6_000,
            query_rows: 100,
            queries_per_call: 50,
            kv_keys: 10_000,
            epoch_tick_ms: 5,
            pool_instances: 64,
            widget_cache_entries: 10_000,
            hooks_interval_ms: 500,
            compile_cache: true,
        }
    }
}

/// Sessions and login throttling.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a login session lasts, seconds.
    pub session_ttl_secs: u64,
    /// Login attempts allowed per account per minute (a burst of this many, then refilled
    /// evenly); further attempts get 429 with `Retry-After`.
    pub login_per_account_per_minute: u32,
    /// Login attempts allowed per client address per minute.
    pub login_per_client_per_minute: u32,
    /// Password hashes and verifications running at once (argon2, about 19 MiB each); 0: one
    /// per core.
    pub password_concurrency: usize,
    /// Identical refusals (failed logins, 403s) within this many seconds are written to the
    /// audit log as one row with a count.
    pub refusal_window_secs: u64,
    /// Most refusal rows written a minute; beyond, they are counted in one summary row.
    pub refusals_per_minute: u32,
    /// API tokens whose fixed facts (tenant, kind, expiry) a node keeps, so that on PostgreSQL
    /// without the response cache a query's token check travels with its first read instead of
    /// taking a round trip before it (`store::tokens::CredentialCheck`); 0 turns that off.
    pub known_tokens: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_secs: 12 * 3600,
            login_per_account_per_minute: 5,
            login_per_client_per_minute: 30,
            password_concurrency: 0,
            refusal_window_secs: 60,
            refusals_per_minute: 600,
            known_tokens: 10_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter used when `RUST_LOG` is unset.
    pub filter: String,
    /// JSON lines instead of human-readable output.
    pub json: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbConfig {
    /// Pool size upper bound.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a request waits for a pooled connection.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL: a pooled connection idle at least this long is pinged before it is handed
    /// out (a server, proxy or firewall may have dropped it). Busy connections are not: the
    /// driver's default pings on every checkout, a round trip per statement.
    pub ping_idle_after_ms: u64,
    /// A pooled connection idle this long is closed (down to `min_connections`); 0 keeps it.
    pub idle_timeout_ms: u64,
    /// A pooled connection is closed once this old, when it is next returned (the server's
    /// per-connection memory is given back); 0 keeps it for good.
    pub max_lifetime_ms: u64,
    /// SQLite: how long a writer waits for the write lock before failing.
    pub sqlite_busy_timeout_ms: u64,
    /// SQLite: idle read connections kept for the request path's reads, which run on the
    /// calling thread instead of sqlx's connection threads (`store::reads`); 0 reads through
    /// the pool.
    pub sqlite_readers: usize,
    /// SQLite: page cache of each of those readers, KiB.
    pub sqlite_reader_cache_kib: u32,
    /// PostgreSQL: connections of the request path's reads, opened on demand beside the pool
    /// (`store::pg_reads`); 0 reads through the pool.
    pub postgres_readers: usize,
    /// PostgreSQL: of those, how many `serve` opens before it listens. Opened on demand
    /// instead, a cold node's first burst of requests waits for them (0.3–1 s each on a loaded
    /// machine).
    pub postgres_readers_warm: usize,
    /// PostgreSQL: connections of the pool `serve` opens before it listens (at most
    /// `max_connections`). Opened on demand instead, the background workers opened several at
    /// once under load, and requests stalled meanwhile.
    pub postgres_pool_warm: usize,
    /// PostgreSQL: rows at which `serve` gives a content table never analyzed its first
    /// statistics, instead of waiting for autovacuum (`store::db::first_statistics`); 0 leaves
    /// it to autovacuum.
    pub postgres_first_analyze_rows: u64,
}

/// Every size, count and time limit the server enforces. Defaults follow the SPEC.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest HTTP request body, bytes.
    pub request_body_bytes: usize,
    /// A request that takes longer is answered with 408/503 and dropped.
    pub request_timeout_ms: u64,
    /// Largest serialized entry document, bytes.
    pub entry_bytes: usize,
    /// Largest value of a `many` field, items.
    pub many_items: usize,
    /// Largest page a list query may ask for (`first`/`last`).
    pub page_size_max: u64,
    /// Entries per transaction in `zellige import`.
    pub import_batch: usize,
    /// Most writes in one batch mutation (`createArticles`, …): one transaction holds the
    /// tenant's write lock for all of them.
    pub write_batch_max: usize,
    /// GraphQL: deepest selection nesting.
    pub graphql_depth: usize,
    /// GraphQL: most fields one query may select (fragments expanded).
    pub graphql_complexity: usize,
    /// GraphQL: most aliases in one query.
    pub graphql_aliases: usize,
    /// GraphQL: largest query text, bytes.
    pub graphql_query_bytes: usize,
    /// GraphQL: whether introspection is served.
    pub graphql_introspection: bool,
    /// GraphQL: deepest nesting inside `__schema`/`__type` (the standard introspection query
    /// of GraphiQL and code generators nests 13 levels).
    pub graphql_introspection_depth: usize,
    /// GraphQL: most fields inside `__schema`/`__type`, fragments expanded (the standard
    /// introspection query selects about 190).
    pub graphql_introspection_fields: usize,
    /// GraphQL: introspection requests a server runs at once (the rest wait their turn).
    pub graphql_introspection_concurrency: usize,
    /// GraphQL: most values one query may resolve: each field weighted by the sizes of the
    /// lists it sits in (`first`, or a list's default).
    pub graphql_cost: u64,
    /// GraphQL: items a `many` reference field yields when the query gives no `first`.
    pub graphql_reference_first: u64,
    /// GraphQL: largest `first` of a `many` reference field.
    pub graphql_reference_first_max: u64,
    /// GraphQL: open subscriptions per WebSocket connection.
    pub subscriptions_per_connection: usize,
    /// GraphQL: open subscriptions per tenant on one server.
    pub subscriptions_per_tenant: usize,
    /// GraphQL: how often an open subscription checks that its credential still holds
    /// (revoked tokens, ended sessions and disabled users end their streams within this).
    pub subscription_recheck_ms: u64,
    /// GraphQL: memory for cached query responses, bytes; 0 turns the cache off. Entries are
    /// keyed by the tenant's outbox sequence, so any write (on any node) retires them at once.
    pub graphql_cache_bytes: u64,
    /// GraphQL: the largest response that is cached, bytes.
    pub graphql_cache_entry_bytes: usize,
    /// GraphQL: memory for parsed query documents, by query text (estimated as ten times the
    /// text), bytes; 0 turns it off. Answers are not kept, only the parse: see
    /// `graphql::documents`.
    pub graphql_document_cache_bytes: u64,
    /// GraphQL: answer plain pages (`{ articles(…) { nodes { id title } } }`) from the page read
    /// without the executor's per-field resolution (`graphql::direct`); the answers are the
    /// same either way.
    pub graphql_direct_pages: bool,
    /// `search`: most words in one query (each word is a term, its variants and, when few
    /// entries match, a typo-tolerant walk of the term dictionary).
    pub search_words: usize,
    /// `search`: longest query, characters.
    pub search_query_chars: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./zellige-data"),
            database_url: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 4000)),
            platform_hosts: Vec::new(),
            meili_url: None,
            meili_key: None,
            meili_index_prefix: "zellige-".to_owned(),
            metrics_token: None,
            schedule_interval_ms: 250,
            shutdown_grace_ms: 10_000,
            search_interval_ms: 250,
            log: LogConfig::default(),
            db: DbConfig::default(),
            limits: Limits::default(),
            auth: AuthConfig::default(),
            plugins: PluginsConfig::default(),
            webhooks: WebhooksConfig::default(),
            media: MediaConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info,sqlx=warn,sea_orm=warn".to_owned(),
            json: false,
        }
    }
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            max_connections: 16,
            min_connections: 1,
            acquire_timeout_ms: 5_000,
            ping_idle_after_ms: 10_000,
            idle_timeout_ms: 600_000,
            max_lifetime_ms: 1_800_000,
            sqlite_busy_timeout_ms: 5_000,
            sqlite_readers: 8,
            sqlite_reader_cache_kib: 16_384,
            postgres_readers: 16,
            postgres_readers_warm: 16,
            postgres_pool_warm: 16,
            postgres_first_analyze_rows: 1_000,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_body_bytes: 2 * 1024 * 1024,
            request_timeout_ms: 30_000,
            entry_bytes: 1024 * 1024,
            many_items: 1_000,
            page_size_max: 100,
            import_batch: 500,
            write_batch_max: 100,
            graphql_depth: 12,
            graphql_complexity: 1_000,
            graphql_aliases: 30,
            graphql_query_bytes: 32 * 1024,
            graphql_introspection: true,
            graphql_introspection_depth: 16,
            graphql_introspection_fields: 500,
            graphql_introspection_concurrency: 1,
            graphql_cost: 50_000,
            graphql_reference_first: 20,
            graphql_reference_first_max: 100,
            subscriptions_per_connection: 16,
            subscriptions_per_tenant: 1_000,
            subscription_recheck_ms: 2_000,
            graphql_cache_bytes: 32 * 1024 * 1024,
            graphql_cache_entry_bytes: 512 * 1024,
            graphql_document_cache_bytes: 8 * 1024 * 1024,
            graphql_direct_pages: true,
            search_words: 10,
            search_query_chars: 200,
        }
    }
}

/// Which database the configuration points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Config {
    /// Loads defaults, then `file` (or `./zellige.toml` if it exists), then `ZELLIGE_*`.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        Self::figment(file).extract().map_err(Box::new)
    }

    pub fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("zellige.toml")),
        }
        figment.merge(
            Env::prefixed("ZELLIGE_")
                // Variables of the test harness share the prefix but are not configuration.
                .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"))
                .split("__"),
        )
    }

    pub fn database(&self) -> DatabaseTarget {
        match &self.database_url {
            Some(url) if url.expose().starts_with("postgres") => {
                DatabaseTarget::Postgres(url.expose().to_owned())
            }
            Some(url) => {
                let raw = url.expose();
                let path = raw
                    .strip_prefix("sqlite://")
                    .or_else(|| raw.strip_prefix("sqlite:"))
                    .unwrap_or(raw);
                let path = path.split('?').next().unwrap_or(path);
                DatabaseTarget::Sqlite(PathBuf::from(path))
            }
            None => DatabaseTarget::Sqlite(self.data_dir.join("zellige.db")),
        }
    }

    /// The GraphQL limits.
    pub fn graphql_limits(&self) -> crate::graphql::builder::GraphqlLimits {
        crate::graphql::builder::GraphqlLimits {
            depth: self.limits.graphql_depth,
            complexity: self.limits.graphql_complexity,
            aliases: self.limits.graphql_aliases,
            query_bytes: self.limits.graphql_query_bytes,
            page_max: self.limits.page_size_max,
            introspection: self.limits.graphql_introspection,
            introspection_depth: self.limits.graphql_introspection_depth,
            introspection_fields: self.limits.graphql_introspection_fields,
            cost: self.limits.graphql_cost,
            reference_first: self.limits.graphql_reference_first,
            reference_first_max: self.limits.graphql_reference_first_max,
            search_words: self.limits.search_words,
            search_query_chars: self.limits.search_query_chars,
            direct_pages: self.limits.graphql_direct_pages,
        }
    }

    /// The effective configuration with secrets masked, as `zellige config` prints it.
    pub fn to_masked_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_secrets_are_masked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "zellige.toml",
                "bind = \"127.0.0.1:5000\"\n[limits]\nimport_batch = 7\n",
            )?;
            jail.set_env("ZELLIGE_DATABASE_URL", "postgres://u:hunter2@localhost/db");
            jail.set_env("ZELLIGE_LIMITS__PAGE_SIZE_MAX", "50");
            jail.set_env("ZELLIGE_TEST_MEILI_URL", "http://127.0.0.1:7700");
            let config = Config::load(None).map_err(|e| *e)?;
            assert_eq!(config.bind.port(), 5000);
            assert_eq!(config.limits.import_batch, 7);
            assert_eq!(config.limits.page_size_max, 50);
            assert!(matches!(config.database(), DatabaseTarget::Postgres(_)));
            let printed = config.to_masked_json();
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(printed.contains("********"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("zellige.toml", "bnid = \"127.0.0.1:5000\"\n")?;
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let config = Config::default();
        assert_eq!(
            config.database(),
            DatabaseTarget::Sqlite(PathBuf::from("./zellige-data/zellige.db"))
        );
    }
}
