//! Webhook benchmark: the real server (same state and background tasks as `zellige serve`) on
//! a temporary SQLite database, one endpoint pointing at a fast receiver on loopback.
//!
//! 1. Throughput: ENTRIES entries are created before the server starts; the time from its
//!    start until the receiver has every delivery gives deliveries per second.
//! 2. Delay: with the server running, 300 more entries at 50 per second; the delay from each
//!    commit (the outbox event's time) to its arrival at the receiver, p50 and p99.
//!
//!     cargo run --release -p zellige --example webhook_bench -- [ENTRIES]
//!
//! Results are recorded in bench/README.md.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zellige::Config;
use zellige::http::{self, AppState};
use zellige::store::db;

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5_000);
    // The receiver: records when each message arrived (by the entry id in the body).
    let arrived: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let seen = arrived.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let seen = seen.clone();
            async move {
                let now = zellige::time::now_ms();
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
                    && let Some(id) = v["data"]["entryId"].as_str()
                {
                    seen.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(id.to_owned(), now);
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let hook_addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let dir = tempfile::tempdir()?;
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    config.webhooks.interval_ms = 20;
    // Search and plugins idle: the figures are the webhooks' own.
    config.search_interval_ms = 3_600_000;
    config.plugins.hooks_interval_ms = 3_600_000;
    let config = Arc::new(config);
    let db = db::connect(&config).await?;
    db::migrate(&db).await?;
    let state = AppState::new(config.clone(), db.clone())?;
    let ctx = zellige::tenancy::create(
        &db,
        zellige::tenancy::NewTenant {
            slug: "bench".into(),
            name: "bench".into(),
            locales: vec!["ar".into()],
            domains: vec![],
        },
        &[],
    )
    .await?;
    state
        .webhooks
        .create(
            &ctx,
            zellige::webhooks::WebhookInput {
                url: Some(format!("http://{hook_addr}/hook")),
                events: Some(vec!["article.created".into()]),
                ..Default::default()
            },
            "bench",
        )
        .await?;
    let create = |i: usize| {
        let state = state.clone();
        let ctx = ctx.clone();
        async move {
            state
                .content
                .create(
                    &ctx,
                    "article",
                    zellige::content::EntryInput {
                        data: serde_json::json!({"title": format!("معرض رقم {i}")})
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                        locale: Some("ar".into()),
                        ..Default::default()
                    },
                    Some("bench"),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        }
    };
    let count = || {
        arrived
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    };
    for i in 0..total {
        create(i).await?;
    }
    // 1. Throughput: the backlog, from the server's start.
    let server = tokio::net::TcpListener::bind(config.bind).await?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let started = Instant::now();
    tokio::spawn(http::serve(server, state.clone(), shutdown.clone()));
    while count() < total {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {} of {total} delivered",
            count()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let drained = started.elapsed();
    println!(
        "backlog of {total} delivered in {:.2} s: {:.0} deliveries/s",
        drained.as_secs_f64(),
        total as f64 / drained.as_secs_f64()
    );
    // 2. Delay at a steady 50 writes per second.
    let steady = 300;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    for i in 0..steady {
        ticker.tick().await;
        create(total + i).await?;
    }
    let started = Instant::now();
    while count() < total + steady {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "steady deliveries missing"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let events = zellige::store::outbox::read(&db, &ctx, 0, (total + steady) as u64 + 10).await?;
    let arrived = arrived
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut delays: Vec<i64> = events
        .iter()
        .filter(|e| e.kind == "entry.created")
        .skip(total)
        .filter_map(|e| {
            let id = e.entry_id.as_ref()?;
            Some(arrived.get(id)? - e.created_at)
        })
        .collect();
    delays.sort_unstable();
    println!(
        "commit → delivery at 50 writes/s: p50 {} ms, p99 {} ms, max {} ms",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0)
    );
    shutdown.cancel();
    Ok(())
}
