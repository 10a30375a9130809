//! Store benchmark: bulk-imports synthetic entries (default 100,000) into one tenant, then times
//! the list queries the GraphQL API will serve, sequentially, and prints their query plans.
//!
//!     cargo run --release -p zellige --example store_bench -- [ENTRIES]
//!
//! SQLite in a temp directory by default; PostgreSQL when ZELLIGE_BENCH_DATABASE_URL is set
//! (an empty database). Results are recorded in bench/README.md.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use zellige::Config;
use zellige::config::Secret;
use zellige::content::{Content, Lookup, PageArgs};
use zellige::store::db;
use zellige::store::entries::Stage;
use zellige::tenancy::{self, NewTenant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let total: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    if let Ok(url) = std::env::var("ZELLIGE_BENCH_DATABASE_URL") {
        config.database_url = Some(Secret::new(url));
    }
    let backend = if config.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let config = Arc::new(config);
    let db = db::connect(&config).await?;
    db::migrate(&db).await?;
    // The request path's readers, as the server has them.
    let content = Content::new(db.clone(), &config.limits)
        .with_reads(zellige::store::Reads::for_config(&config, db.clone()));
    let ctx = tenancy::create(
        &db,
        NewTenant {
            slug: "bench".into(),
            name: "bench".into(),
            locales: vec!["ar".into(), "fr".into()],
            domains: vec![],
        },
        &[],
    )
    .await?;

    let (articles, events) = (total * 2 / 5, total / 5);
    let artisans = total - articles - events;
    let lines = zellige::demo::synthetic(articles, events, artisans);
    let known: HashSet<(String, String)> = HashSet::new();
    let started = Instant::now();
    let mut statistics = zellige::content::transfer::ImportStatistics::default();
    let mut rest = lines.into_iter().enumerate().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<_> = rest
            .by_ref()
            .take(config.limits.import_batch)
            .map(|(i, l)| (i + 1, l))
            .collect();
        let stats = content
            .import_batch(&ctx, chunk, &known)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        content
            .analyze_as_import_grows(&mut statistics, stats.created)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    content.analyze().await?;
    let import = started.elapsed();
    println!(
        "## {backend}: {total} entries ({articles} articles, {events} events, {artisans} artisans)\n"
    );
    println!(
        "import: {:.1} s ({:.0} entries/s)\n",
        import.as_secs_f64(),
        total as f64 / import.as_secs_f64()
    );

    let latest = PageArgs {
        order_by: vec![("publishedAt".into(), true)],
        first: Some(20),
        ..Default::default()
    };
    let range = PageArgs {
        filter: Some(
            json!({"startsAt": {"gte": "2015-06-01T00:00:00Z", "lt": "2015-07-01T00:00:00Z"}}),
        ),
        order_by: vec![("startsAt".into(), false)],
        first: Some(20),
        ..Default::default()
    };
    let filtered = PageArgs {
        filter: Some(json!({"craft": {"eq": "زليج"}, "city": {"eq": "مراكش"}})),
        order_by: vec![("name".into(), false)],
        first: Some(20),
        ..Default::default()
    };
    // Page 3 of the filtered list: the cursor after page 2.
    let p1 = content
        .list(&ctx, "artisan", &filtered, Stage::Published)
        .await?;
    let p2 = content
        .list(
            &ctx,
            "artisan",
            &PageArgs {
                after: p1.entries.last().map(|e| e.1.encode()),
                ..filtered.clone()
            },
            Stage::Published,
        )
        .await?;
    let page3 = PageArgs {
        after: p2.entries.last().map(|e| e.1.encode()),
        ..filtered.clone()
    };
    let one = content
        .list(
            &ctx,
            "article",
            &PageArgs {
                first: Some(1),
                ..Default::default()
            },
            Stage::Published,
        )
        .await?;
    let slug = one
        .entries
        .first()
        .map(|e| e.0.slug.clone())
        .unwrap_or_default();

    println!("| query | p50 | p99 | ops/s (1 client) | rows |");
    println!("| --- | --- | --- | --- | --- |");
    let iterations = 2_000;
    for (name, ty, args) in [
        ("latest 20 published articles", "article", &latest),
        ("events in a month, by start", "event", &range),
        ("artisans by craft+city, page 3", "artisan", &page3),
    ] {
        let mut times = Vec::with_capacity(iterations);
        let mut rows = 0;
        for _ in 0..iterations {
            let t = Instant::now();
            let page = content.list(&ctx, ty, args, Stage::Published).await?;
            times.push(t.elapsed());
            rows = page.entries.len();
        }
        times.sort();
        let sum: Duration = times.iter().sum();
        println!(
            "| {name} | {:.3} ms | {:.3} ms | {:.0} | {rows} |",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            iterations as f64 / sum.as_secs_f64()
        );
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let e = content
            .get(
                &ctx,
                "article",
                &Lookup::Slug(slug.clone()),
                Stage::Published,
            )
            .await?;
        times.push(t.elapsed());
        anyhow::ensure!(e.is_some(), "article by slug");
    }
    times.sort();
    let sum: Duration = times.iter().sum();
    println!(
        "| one article by slug | {:.3} ms | {:.3} ms | {:.0} | 1 |",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        iterations as f64 / sum.as_secs_f64()
    );
    let t = Instant::now();
    let n = content
        .count(&ctx, "artisan", &filtered, Stage::Published)
        .await?;
    println!(
        "\ncount of craft+city matches: {n} in {:.1} ms\n",
        t.elapsed().as_secs_f64() * 1e3
    );
    for (name, ty, args) in [
        ("latest", "article", &latest),
        ("range", "event", &range),
        ("filtered", "artisan", &page3),
    ] {
        println!(
            "plan ({name}):\n```\n{}\n```",
            content
                .explain_list(&ctx, ty, args, Stage::Published)
                .await?
        );
    }
    Ok(())
}
