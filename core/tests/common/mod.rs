//! Test databases: every store test runs on a fresh SQLite file, and also on a fresh PostgreSQL
//! database when `ZELLIGE_TEST_POSTGRES_URL` points at a server (CI provides one). A skipped
//! backend is announced on stderr.
#![allow(dead_code)]

use std::sync::Arc;

use sea_orm::{ConnectionTrait, Database};
use zellige::Config;
use zellige::config::Secret;
use zellige::content::Content;
use zellige::store::{Db, db};
use zellige::tenancy::{self, NewTenant, TenantCtx};

pub struct TestDb {
    pub name: &'static str,
    pub config: Arc<Config>,
    pub db: Db,
    pub content: Content,
    _dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    pub async fn tenant(&self, slug: &str) -> TenantCtx {
        tenancy::create(
            &self.db,
            NewTenant {
                slug: slug.into(),
                name: format!("غرفة {slug}"),
                locales: vec!["ar".into(), "fr".into()],
                domains: vec![],
            },
            &[],
        )
        .await
        .expect("create tenant")
    }

    /// Fresh context (current schema version).
    pub async fn ctx(&self, slug: &str) -> TenantCtx {
        tenancy::by_slug(&self.db, slug).await.expect("tenant")
    }

    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// Row counts of every content table: "nothing changed" is "these are equal".
    pub async fn snapshot(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for t in [
            "entry_docs",
            "entry_fields",
            "entry_versions",
            "outbox",
            "content_types",
        ] {
            out.push(self.count(t).await);
        }
        out
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_drop.take() {
            // On a thread of its own (the test's runtime may be gone), and waited for a while
            // only: `DROP DATABASE` waits for every backend to absorb its barrier, and a read
            // connection still authenticating on the test's current-thread runtime cannot
            // answer while that thread waits here (PostgreSQL then waits out its
            // `authentication_timeout`). Once the test returns, its runtime closes them.
            let (done, finished) = std::sync::mpsc::channel::<()>();
            std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async {
                        if let Ok(conn) = Database::connect(admin).await {
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
            let _ = finished.recv_timeout(std::time::Duration::from_secs(5));
        }
    }
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("ZELLIGE_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

async fn open(
    config: Config,
    dir: tempfile::TempDir,
    name: &'static str,
    pg_drop: Option<(String, String)>,
) -> TestDb {
    let config = Arc::new(config);
    let db = db::connect(&config).await.expect("connect");
    db::migrate(&db).await.expect("migrate");
    // The request path's readers, as the server has them.
    let content = Content::new(db.clone(), &config.limits)
        .with_reads(zellige::store::Reads::for_config(&config, db.clone()));
    TestDb {
        name,
        config,
        db,
        content,
        _dir: dir,
        pg_drop,
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    open(config, dir, "sqlite", None).await
}

/// A fresh PostgreSQL database, or `None` (with a printed reason) when none is configured.
pub async fn postgres() -> Option<TestDb> {
    let Some(admin) = postgres_admin_url() else {
        let require =
            std::env::var("ZELLIGE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1" || v == "true");
        assert!(
            !require,
            "ZELLIGE_TEST_REQUIRE_ALL is set and ZELLIGE_TEST_POSTGRES_URL is not"
        );
        println!("skipping PostgreSQL: ZELLIGE_TEST_POSTGRES_URL is not set");
        return None;
    };
    let name = format!("zt_{}", uuid::Uuid::now_v7().simple());
    let conn = Database::connect(admin.clone())
        .await
        .expect("connect to ZELLIGE_TEST_POSTGRES_URL");
    conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("ZELLIGE_TEST_POSTGRES_URL needs a database path"),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        database_url: Some(Secret::new(url)),
        ..Config::default()
    };
    Some(open(config, dir, "postgres", Some((admin, name))).await)
}

/// SQLite, then PostgreSQL when available.
pub async fn backends() -> Vec<TestDb> {
    let mut out = vec![sqlite().await];
    if let Some(pg) = postgres().await {
        out.push(pg);
    }
    out
}

/// Runs a test body on every backend.
#[macro_export]
macro_rules! on_backends {
    (|$t:ident| $body:block) => {
        for $t in common::backends().await {
            eprintln!("-- backend: {}", $t.name);
            $body
        }
    };
}
