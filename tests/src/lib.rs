//! Helpers shared by the end-to-end tests: start the real server the way `zellige serve` does
//! (same config, connect, migrate, router, bound to `127.0.0.1:0`) on a fresh database, and
//! speak HTTP to it.
//!
//! The database is a temp SQLite file, or a fresh PostgreSQL database when
//! `ZELLIGE_TEST_POSTGRES_URL` is set for [`TestApp::spawn_postgres`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use zellige::Config;
use zellige::config::Secret;
use zellige::http::{self, AppState};
use zellige::store::db;

pub struct TestApp {
    /// Statements run on the database since start (for N+1 checks).
    pub queries: Arc<std::sync::atomic::AtomicUsize>,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    shutdown: CancellationToken,
    /// (admin URL, database name) of a PostgreSQL database this app created and drops.
    pg_drop: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// On a fresh SQLite file.
    pub async fn spawn() -> anyhow::Result<TestApp> {
        Self::spawn_with(|_| {}).await
    }

    /// With adjusted configuration (limits, …).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<TestApp> {
        let dir = tempfile::tempdir()?;
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        adjust(&mut config);
        Self::start(config, dir).await
    }

    /// On a fresh PostgreSQL database, or `None` (reason printed) without a server.
    pub async fn spawn_postgres() -> anyhow::Result<Option<TestApp>> {
        Self::spawn_postgres_with(|_| {}).await
    }

    /// On a fresh PostgreSQL database with adjusted configuration.
    pub async fn spawn_postgres_with(
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Option<TestApp>> {
        let Some(admin) = std::env::var("ZELLIGE_TEST_POSTGRES_URL")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            skip_or_fail("PostgreSQL: ZELLIGE_TEST_POSTGRES_URL is not set");
            return Ok(None);
        };
        use sea_orm::ConnectionTrait;
        let name = format!("ze_{}", uuid_like());
        let conn = sea_orm::Database::connect(admin.clone()).await?;
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let (base, _) = admin
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("ZELLIGE_TEST_POSTGRES_URL needs a database path"))?;
        let dir = tempfile::tempdir()?;
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(Secret::new(format!("{base}/{name}"))),
            ..Config::default()
        };
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        adjust(&mut config);
        let mut app = Self::start(config, dir).await?;
        app.pg_drop = Some((admin, name));
        Ok(Some(app))
    }

    /// A second server on the same database as `self` (another node).
    pub async fn another_node(&self) -> anyhow::Result<TestApp> {
        self.another_node_with(|_| {}).await
    }

    /// Another node, with adjusted configuration.
    pub async fn another_node_with(
        &self,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestApp> {
        let dir = tempfile::tempdir()?;
        let mut config = (*self.state.config).clone();
        adjust(&mut config);
        if config.database_url.is_none() {
            // The same SQLite file, not the default one under the new data directory.
            config.database_url = Some(Secret::new(format!(
                "sqlite://{}",
                config.data_dir.join("zellige.db").display()
            )));
        }
        config.data_dir = dir.path().to_path_buf();
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start(config, dir).await
    }

    async fn start(config: Config, dir: tempfile::TempDir) -> anyhow::Result<TestApp> {
        let config = Arc::new(config);
        let mut db = db::connect(&config).await?;
        db::migrate(&db).await?;
        let queries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = queries.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(config, db).expect("search backend");
        let shutdown = CancellationToken::new();
        tokio::spawn(http::serve(listener, state.clone(), shutdown.clone()));
        let client = reqwest::Client::builder().no_proxy().build()?;
        let app = TestApp {
            queries,
            addr,
            client,
            state,
            shutdown,
            pg_drop: None,
            _dir: dir,
        };
        for _ in 0..100 {
            if let Ok(r) = app.client.get(app.url("/readyz")).send().await
                && r.status().is_success()
            {
                return Ok(app);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        anyhow::bail!("server did not become ready")
    }

    /// The body of `GET /readyz`.
    pub async fn readiness(&self) -> serde_json::Value {
        match self.client.get(self.url("/readyz")).send().await {
            Ok(r) => r.json().await.unwrap_or(serde_json::Value::Null),
            Err(_) => serde_json::Value::Null,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some((admin, name)) = self.pg_drop.take() {
            // On a thread of its own: the test's runtime may be gone. Waited for a while only:
            // `DROP DATABASE` waits until every backend has absorbed its barrier, and one of
            // this app's connections still authenticating on the test's (current-thread)
            // runtime cannot answer while that thread waits here, which left PostgreSQL waiting
            // out its `authentication_timeout` (a minute). Once the test returns, its runtime
            // closes those connections and the drop finishes.
            let (done, finished) = std::sync::mpsc::channel::<()>();
            std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async {
                        use sea_orm::ConnectionTrait;
                        if let Ok(conn) = sea_orm::Database::connect(admin).await {
                            let _ = conn
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                }
                let _ = done.send(());
            });
            let _ = finished.recv_timeout(PG_DROP_WAIT);
        }
    }
}

/// How long a test waits for its PostgreSQL database to be dropped before going on.
const PG_DROP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn uuid_like() -> String {
    // The clock alone is not unique: tests of one binary start on parallel threads and
    // can read the same (coarse) instant, so a process-wide counter is part of the name.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{:x}-{n}", std::process::id())
}

/// The demo tenants of a test app, with their tokens.
pub struct Demo {
    pub marrakech: zellige::demo::DemoTenant,
    pub casablanca: zellige::demo::DemoTenant,
}

impl TestApp {
    /// Loads the demo tenants (as `serve --demo` does).
    pub async fn demo(&self) -> anyhow::Result<Demo> {
        let mut tenants = zellige::demo::ensure(
            &self.state.content,
            &self.state.media,
            &self.state.config.data_dir,
        )
        .await?;
        let casablanca = tenants
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no demo tenants"))?;
        let marrakech = tenants
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no demo tenants"))?;
        Ok(Demo {
            marrakech,
            casablanca,
        })
    }

    /// POSTs a GraphQL request; returns status, content type and body.
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: serde_json::Value,
    ) -> (u16, String, serde_json::Value) {
        self.graphql_with(token, &[], query, variables).await
    }

    pub async fn graphql_with(
        &self,
        token: Option<&str>,
        headers: &[(&str, &str)],
        query: &str,
        variables: serde_json::Value,
    ) -> (u16, String, serde_json::Value) {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&serde_json::json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return (
                    0,
                    String::new(),
                    serde_json::json!({ "transport": e.to_string() }),
                );
            }
        };
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, ct, body)
    }

    /// Both backends: SQLite always, PostgreSQL when configured.
    pub async fn both() -> anyhow::Result<Vec<TestApp>> {
        Self::both_with(|_| {}).await
    }

    /// Both backends, with adjusted configuration.
    pub async fn both_with(adjust: impl Fn(&mut Config)) -> anyhow::Result<Vec<TestApp>> {
        let mut apps = vec![TestApp::spawn_with(&adjust).await?];
        if let Some(pg) = TestApp::spawn_postgres_with(&adjust).await? {
            apps.push(pg);
        }
        Ok(apps)
    }
}

/// The `extensions.code` of the first error.
pub fn code(body: &serde_json::Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// An answer of the admin API.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// The error `code`, if the body is an error.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// Calls the admin API (`path` is below `/admin/api/v1`).
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Answer {
        self.admin_with(method, path, token, &[], body).await
    }

    pub async fn admin_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut req = self
            .client
            .request(method, self.url(&format!("/admin/api/v1{path}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let headers = r.headers().clone();
                let text = r.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
                Answer {
                    status,
                    body,
                    headers,
                }
            }
            Err(e) => Answer {
                status: 0,
                body: serde_json::json!({ "transport": e.to_string() }),
                headers: Default::default(),
            },
        }
    }

    /// A platform operator's session token. Operators are created with `zellige operator
    /// create`, which calls the same function.
    pub async fn operator_session(&self) -> anyhow::Result<String> {
        let email = format!("op-{}@zellige.test", uuid_like());
        zellige::auth::create_operator(&self.state.db, &email, "operator-password-1").await?;
        let a = self
            .admin(
                "POST",
                "/auth/login",
                None,
                Some(serde_json::json!({ "email": email, "password": "operator-password-1" })),
            )
            .await;
        a.body["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("operator login failed: {a:?}"))
    }

    /// An admin API token of a tenant, as `zellige token create --kind admin` makes one.
    pub async fn admin_token(&self, slug: &str) -> anyhow::Result<String> {
        let ctx = zellige::tenancy::by_slug(&self.state.db, slug).await?;
        let t = zellige::auth::create_token(
            &self.state.db,
            &ctx,
            zellige::access::TokenKind::Admin,
            "test admin",
            None,
            "cli",
        )
        .await?;
        Ok(t.secret)
    }

    /// Logs a tenant user in; returns the session token.
    pub async fn login(&self, slug: &str, email: &str, password: &str) -> Answer {
        self.admin_with(
            "POST",
            "/auth/login",
            None,
            &[("x-tenant", slug)],
            Some(serde_json::json!({ "email": email, "password": password })),
        )
        .await
    }
}

/// A component built from `plugins/` (bundled plugins, template, test fixtures) by the core
/// crate's build script, with its manifest: `dir` is the folder under `plugins/`, e.g.
/// `calendar` or `fixtures/hostile-loop`.
pub fn plugin_component(dir: &str) -> anyhow::Result<(Vec<u8>, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let folder = root.join(dir);
    let manifest = std::fs::read_to_string(folder.join("plugin.toml"))?;
    let cargo = std::fs::read_to_string(folder.join("Cargo.toml"))?;
    let name = cargo
        .lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "name").then(|| v.trim().trim_matches('"').replace('-', "_"))
        })
        .ok_or_else(|| anyhow::anyhow!("no package name in {dir}/Cargo.toml"))?;
    let path =
        std::path::Path::new(zellige::plugins::bundled::RELEASE_DIR).join(format!("{name}.wasm"));
    let wasm =
        std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    Ok((wasm, manifest))
}

impl TestApp {
    /// The demo tenants with the bundled plugins installed and enabled (as `serve --demo`).
    pub async fn demo_with_plugins(&self) -> anyhow::Result<Demo> {
        let demo = self.demo().await?;
        let host = self
            .state
            .plugins
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no plugin host"))?;
        zellige::demo::ensure_plugins(host, &self.state.db).await?;
        Ok(demo)
    }

    /// Installs a component from `plugins/` as a platform plugin through the admin API (as an
    /// operator); returns the answer.
    pub async fn install_platform_plugin(&self, dir: &str) -> anyhow::Result<Answer> {
        use base64::Engine as _;
        let (wasm, manifest) = plugin_component(dir)?;
        let op = self.operator_session().await?;
        Ok(self
            .admin(
                "POST",
                "/platform/plugins",
                Some(&op),
                Some(serde_json::json!({
                    "manifest": manifest,
                    "component": base64::engine::general_purpose::STANDARD.encode(wasm),
                })),
            )
            .await)
    }

    /// Enables a plugin for a tenant through the admin API with these grants and config.
    pub async fn enable_plugin(
        &self,
        slug: &str,
        plugin: &str,
        grants: &[&str],
        config: serde_json::Value,
    ) -> anyhow::Result<Answer> {
        let admin = self.admin_token(slug).await?;
        Ok(self
            .admin(
                "PUT",
                &format!("/plugins/{plugin}/setup"),
                Some(&admin),
                Some(serde_json::json!({ "enabled": true, "grants": grants, "config": config })),
            )
            .await)
    }

    /// Renders a widget over GraphQL.
    pub async fn widget(
        &self,
        token: Option<&str>,
        plugin: &str,
        name: &str,
        props: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let (status, _, body) = self
            .graphql(
                token,
                "query($p: String!, $n: String!, $props: JSON) { widget(plugin: $p, name: $n, props: $props) { html data cacheSeconds } }",
                serde_json::json!({ "p": plugin, "n": name, "props": props }),
            )
            .await;
        (status, body)
    }
}

/// Whether every tool and service the suites use must be present (`ZELLIGE_TEST_REQUIRE_ALL=1`, set
/// by CI): then a missing one fails the test instead of letting it skip.
pub fn require_all() -> bool {
    std::env::var("ZELLIGE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1" || v == "true")
}

/// A suite that cannot run here says why on stdout, or fails under `ZELLIGE_TEST_REQUIRE_ALL`.
pub fn skip_or_fail(why: &str) {
    assert!(!require_all(), "ZELLIGE_TEST_REQUIRE_ALL is set and {why}");
    println!("skipping {why}");
}

/// Whether `cmd --version` runs.
pub fn tool_available(cmd: &str) -> bool {
    std::process::Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Node.js and npm, or a skip (a failure under `ZELLIGE_TEST_REQUIRE_ALL`).
pub fn node_or_skip(suite: &str) -> bool {
    let ok = tool_available("node") && tool_available("npm");
    if !ok {
        skip_or_fail(&format!("{suite}: node and npm are not installed"));
    }
    ok
}

/// Python 3 with `venv` and `ensurepip`, or a skip (a failure under `ZELLIGE_TEST_REQUIRE_ALL`).
pub fn python_venv_or_skip(suite: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail(&format!(
            "{suite}: python3 with the venv module is not installed"
        ));
    }
    ok
}

/// Background work idle for the length of a test (the search indexer, the scheduler, webhook
/// deliveries and the `after-publish` runner pass once an hour, and a new database's first
/// statistics are left to autovacuum), so that counted statements are the requests' own.
pub fn quiet(config: &mut Config) {
    config.search_interval_ms = 3_600_000;
    config.schedule_interval_ms = 3_600_000;
    config.webhooks.interval_ms = 3_600_000;
    config.plugins.hooks_interval_ms = 3_600_000;
    config.db.postgres_first_analyze_rows = 0;
}

/// The Meilisearch server that `ZELLIGE_TEST_MEILI_URL` (with `ZELLIGE_TEST_MEILI_KEY`) points
/// at, or `None` after saying loudly that the Meilisearch runs of `suite` are skipped. No
/// package registry ships a Meilisearch server, so these runs are the one exception to
/// `ZELLIGE_TEST_REQUIRE_ALL`.
pub fn meili(suite: &str) -> Option<(String, Option<String>)> {
    match std::env::var("ZELLIGE_TEST_MEILI_URL") {
        Ok(url) if !url.is_empty() => Some((
            url,
            std::env::var("ZELLIGE_TEST_MEILI_KEY")
                .ok()
                .filter(|k| !k.is_empty()),
        )),
        _ => {
            println!(
                "SKIPPED: {suite} on Meilisearch (set ZELLIGE_TEST_MEILI_URL to a Meilisearch server to run it)"
            );
            None
        }
    }
}

/// Points a configuration at Meilisearch, with index names of its own (so that concurrent
/// tests and earlier runs never share an index).
pub fn use_meili(config: &mut Config, url: &str, key: Option<&str>) {
    config.meili_url = Some(url.to_owned());
    config.meili_key = key.map(Secret::new);
    config.meili_index_prefix = format!("zt{}-", uuid_like());
}

/// A TCP relay on a loopback port that can be cut and restored: a service outage as the
/// server sees it (refused connections, dropped sockets) without stopping the service.
pub struct Relay {
    pub addr: SocketAddr,
    up: Arc<std::sync::atomic::AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
    stop: CancellationToken,
}

impl Relay {
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Relay> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let stop = CancellationToken::new();
        let (up2, cut2, stop2) = (up.clone(), cut.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stop2.cancelled() => break,
                    a = listener.accept() => a,
                };
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                if !up2.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.notified() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        Ok(Relay {
            addr,
            up,
            cut,
            stop,
        })
    }

    /// Drops every open connection and refuses new ones until [`Relay::restore`].
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut.notify_waiters();
    }
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: String,
    pub at: std::time::Instant,
}

/// A webhook receiver on a loopback port: records every POST to `/hook`, answers 500 to the
/// first `fail_first` ones and waits `delay_ms` before each answer; `/moved` redirects there.
pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<std::sync::Mutex<Vec<Received>>>,
    stop: CancellationToken,
}

impl Receiver {
    pub async fn start(fail_first: usize, delay_ms: u64) -> anyhow::Result<Receiver> {
        let got: Arc<std::sync::Mutex<Vec<Received>>> = Arc::default();
        let failures = Arc::new(std::sync::atomic::AtomicUsize::new(fail_first));
        let seen = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let seen = seen.clone();
                let failures = failures.clone();
                async move {
                    if delay_ms > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
                    }
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    seen.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(Received {
                            headers,
                            body,
                            at: std::time::Instant::now(),
                        });
                    let fail = failures
                        .fetch_update(
                            std::sync::atomic::Ordering::SeqCst,
                            std::sync::atomic::Ordering::SeqCst,
                            |n| n.checked_sub(1),
                        )
                        .is_ok();
                    if fail {
                        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "not now")
                    } else {
                        (axum::http::StatusCode::OK, "thanks")
                    }
                }
            }),
        );
        // A redirect to the receiver, which a webhook must not follow.
        let app = app.route(
            "/moved",
            axum::routing::post(|| async {
                (
                    axum::http::StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, "/hook")],
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
        });
        Ok(Receiver { addr, got, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` requests arrived (or `secs` passed); returns what arrived.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let started = std::time::Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n || started.elapsed() > std::time::Duration::from_secs(secs) {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The official Standard Webhooks verifier (`standardwebhooks` from PyPI), installed into
/// `tests/webhooks/.venv` on first use: its Python, or `None` (with a skip note, or a failure
/// under `ZELLIGE_TEST_REQUIRE_ALL`) where Python's venv is missing. Call it before starting
/// servers: the installation blocks the thread.
pub fn standard_webhooks_verifier() -> Option<std::path::PathBuf> {
    python_tool(
        "Standard Webhooks verification",
        "webhooks",
        "standardwebhooks",
    )
}

/// The Python of a virtual environment `tests/<dir>/.venv` holding `tests/<dir>/requirements.txt`
/// (installed from PyPI on first use; `module` tells whether it is there), or `None` (with a
/// skip note, or a failure under `ZELLIGE_TEST_REQUIRE_ALL`) where Python's venv is missing.
/// The installation blocks the thread: call it before starting servers.
pub fn python_tool(suite: &str, dir: &str, module: &str) -> Option<std::path::PathBuf> {
    if !python_venv_or_skip(suite) {
        return None;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let venv = dir.join(".venv");
    let python = venv.join("bin/python");
    let installed = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        let ok = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "python3 -m venv failed");
        let ok = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(dir.join("requirements.txt"))
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "pip install -r {} failed",
            dir.join("requirements.txt").display()
        );
    }
    Some(python)
}

/// One verdict per delivery from the official verifier: `"ok"` or why it failed.
pub async fn verify_standard_webhooks(
    python: &std::path::Path,
    secret: &str,
    got: &[Received],
) -> Vec<String> {
    use tokio::io::AsyncWriteExt;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("webhooks/verify.py");
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run verify.py");
    if let Some(mut stdin) = child.stdin.take() {
        for r in got {
            let line = serde_json::json!({"secret": secret, "headers": r.headers, "body": r.body});
            stdin
                .write_all(format!("{line}\n").as_bytes())
                .await
                .expect("write");
        }
    }
    let out = child.wait_with_output().await.expect("verify.py");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// An S3-compatible server on loopback (`moto` in server mode, installed from PyPI into
/// `tests/media/.venv` on first use), with one empty bucket per call; stopped when dropped.
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    _child: tokio::process::Child,
}

impl S3Server {
    /// Starts one, or `None` (a skip, a failure under `ZELLIGE_TEST_REQUIRE_ALL`) without
    /// Python's venv.
    pub async fn start(suite: &str) -> Option<S3Server> {
        let python = python_tool(suite, "media", "moto.server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = tokio::process::Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start moto");
        let endpoint = format!("http://127.0.0.1:{port}");
        let bucket = format!("zellige-{}", uuid_like());
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        for _ in 0..200 {
            if let Ok(r) = client.put(format!("{endpoint}/{bucket}")).send().await
                && r.status().is_success()
            {
                return Some(S3Server {
                    endpoint,
                    bucket,
                    _child: child,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the S3 test server did not start");
    }

    /// Points a configuration's media storage at this server.
    pub fn configure(&self, config: &mut Config) {
        config.media.s3 = Some(zellige::config::S3Config {
            bucket: self.bucket.clone(),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: Some("test".into()),
            secret_access_key: Some(Secret::new("test")),
            prefix: "deployment-a".into(),
        });
    }
}
