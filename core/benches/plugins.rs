//! The plugin host, measured: compiling the calendar component, loading it from the disk cache,
//! and a render (fresh instance + call), for the calendar (which queries the month's events)
//! and for the template (no host imports: instantiation and the call alone). A demo tenant on a
//! temporary SQLite database; the widget cache is off, so every iteration runs the plugin.
//!
//! `cargo bench -p zellige --bench plugins`; figures in `bench/README.md`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use zellige::Config;
use zellige::content::Content;
use zellige::plugins::bundled::BUNDLED;
use zellige::plugins::{PluginHost, registry};
use zellige::store::db;

struct Setup {
    _dir: tempfile::TempDir,
    host: PluginHost,
    uncached: PluginHost,
    tenant: zellige::tenancy::TenantCtx,
    calendar: std::sync::Arc<registry::Enabled>,
    hello: std::sync::Arc<registry::Enabled>,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.plugins.widget_cache_entries = 0;
        config.plugins.calls_per_minute = u32::MAX;
        let config = Arc::new(config);
        let db = db::connect(&config).await.expect("connect");
        db::migrate(&db).await.expect("migrate");
        // The request path's readers, as the server has them.
        let content = Content::new(db.clone(), &config.limits)
            .with_reads(zellige::store::Reads::for_config(&config, db.clone()));
        let media = zellige::media::Media::new(
            db.clone(),
            content.clone(),
            &config.media,
            &config.data_dir,
        )
        .expect("media");
        zellige::demo::ensure(&content, &media, &config.data_dir)
            .await
            .expect("demo");
        let cache = config.data_dir.join("plugin-cache");
        let host =
            PluginHost::new(&config.plugins, &cache, db.clone(), content.clone()).expect("host");
        zellige::demo::ensure_plugins(&host, &db)
            .await
            .expect("plugins");
        let mut plain = config.plugins.clone();
        plain.compile_cache = false;
        let uncached = PluginHost::new(&plain, &cache, db.clone(), content.clone()).expect("host");
        let tenant = zellige::tenancy::by_slug(&db, "marrakech-safi")
            .await
            .expect("tenant");
        let template = std::path::Path::new(zellige::plugins::bundled::RELEASE_DIR)
            .join("zellige_plugin_template.wasm");
        let manifest = include_str!("../../plugins/template/plugin.toml");
        let wasm = std::fs::read(template).expect("template component");
        registry::install(&host, registry::Scope::Platform, wasm, manifest, "bench")
            .await
            .expect("install template");
        registry::enable(
            &host,
            &tenant,
            "hello",
            registry::EnableInput::default(),
            "bench",
        )
        .await
        .expect("enable template");
        let calendar = registry::enabled(&host, &tenant, None, "calendar")
            .await
            .expect("calendar");
        let hello = registry::enabled(&host, &tenant, None, "hello")
            .await
            .expect("hello");
        Setup {
            _dir: dir,
            host,
            uncached,
            tenant,
            calendar,
            hello,
        }
    })
}

fn plugins(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = setup(&rt);
    let calendar_wasm = BUNDLED
        .iter()
        .find(|b| b.id == "calendar")
        .expect("calendar")
        .wasm;

    let mut g = c.benchmark_group("calendar");
    g.sample_size(10);
    g.bench_function("compile", |b| {
        b.iter(|| s.uncached.compile(calendar_wasm).expect("compile"))
    });
    g.finish();

    let mut g = c.benchmark_group("calendar");
    g.bench_function("load from cache", |b| {
        b.iter(|| s.host.compile(calendar_wasm).expect("load"))
    });
    g.bench_function("render (instance + call + month query)", |b| {
        b.to_async(&rt).iter(|| async {
            s.host
                .render_with(
                    &s.calendar,
                    &s.tenant,
                    None,
                    "month",
                    json!({"year": 2017, "month": 12}),
                    "ar",
                )
                .await
                .expect("render")
        })
    });
    g.finish();

    let mut g = c.benchmark_group("template");
    g.bench_function("render (instance + call)", |b| {
        b.to_async(&rt).iter(|| async {
            s.host
                .render_with(
                    &s.hello,
                    &s.tenant,
                    None,
                    "greeting",
                    json!({"name": "فاطمة"}),
                    "ar",
                )
                .await
                .expect("render")
        })
    });
    g.finish();
}

criterion_group!(benches, plugins);
criterion_main!(benches);
