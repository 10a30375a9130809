//! The `zellige` binary as an operator runs it: configuration, tenants, import/export round
//! trips, an import killed with SIGKILL half-way and completed by a re-run, and `serve --demo`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use zellige::Config;

fn zellige(env: &[(String, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zellige"));
    c.env_remove("ZELLIGE_DATABASE_URL").env("RUST_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// The environment that points the binary at a test database.
fn env_of(t: &common::TestDb) -> Vec<(String, String)> {
    let mut env = vec![(
        "ZELLIGE_DATA_DIR".to_owned(),
        t.config.data_dir.display().to_string(),
    )];
    if let Some(url) = &t.config.database_url {
        env.push(("ZELLIGE_DATABASE_URL".to_owned(), url.expose().to_owned()));
    }
    env
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run zellige");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PNG of `n × n` pixels (distinct sizes give distinct bytes).
fn tiny_png(n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut out),
        &vec![200u8; (n * n * 3) as usize],
        n,
        n,
        image::ExtendedColorType::Rgb8,
    )
    .expect("png");
    out
}

fn write_lines(path: &Path, lines: &[zellige::content::transfer::EntryLine]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for l in lines {
        serde_json::to_writer(&mut f, l).expect("write");
        f.write_all(b"\n").expect("newline");
    }
    f.flush().expect("flush");
}

/// The media library of a test database, as `serve` sets it up.
fn media_of(t: &common::TestDb) -> zellige::media::Media {
    zellige::media::Media::new(
        t.content.db().clone(),
        t.content.clone(),
        &t.config.media,
        &t.config.data_dir,
    )
    .expect("media")
}

async fn entry_count(t: &common::TestDb) -> i64 {
    t.count("entry_docs WHERE stage = 0").await
}

#[test]
fn config_masks_secrets_and_rejects_unknown_keys() {
    let out = run_ok(
        zellige(&[(
            "ZELLIGE_DATABASE_URL".into(),
            "postgres://zellige:hunter2@db/zellige".into(),
        )])
        .arg("config"),
    );
    assert!(
        out.contains("********") && !out.contains("hunter2"),
        "{out}"
    );
    let bad = zellige(&[("ZELLIGE_BNID".into(), "x".into())])
        .arg("config")
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bnid"));
}

#[tokio::test]
async fn tenant_commands_and_bad_input() {
    on_backends!(|t| {
        let env = env_of(&t);
        run_ok(zellige(&env).args([
            "tenant",
            "create",
            "rabat-sale",
            "--name",
            "غرفة الرباط",
            "--locales",
            "ar,fr",
        ]));
        let list = run_ok(zellige(&env).args(["tenant", "list"]));
        assert!(list.contains("rabat-sale\tar,fr\tغرفة الرباط"), "{list}");
        // Logs into a pipe carry no colour codes.
        let logged = zellige(&env)
            .env("RUST_LOG", "info")
            .args(["tenant", "create", "fes-meknes", "--name", "غرفة فاس"])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&logged.stderr);
        assert!(stderr.contains("tenant created"), "{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "escape codes in piped logs: {stderr:?}"
        );
        let bad = zellige(&env)
            .args(["tenant", "create", "Bad Slug!", "--name", "x"])
            .output()
            .expect("run");
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("slug"),
            "{}",
            String::from_utf8_lossy(&bad.stderr)
        );
        let token = run_ok(zellige(&env).args([
            "token",
            "create",
            "--tenant",
            "rabat-sale",
            "--kind",
            "public",
        ]));
        assert!(token.trim().starts_with("zlg_"), "{token}");
        let mut user = zellige(&env)
            .args([
                "user",
                "create",
                "--tenant",
                "rabat-sale",
                "--email",
                "editor@example.com",
                "--role",
                "editor",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        user.stdin
            .take()
            .expect("stdin")
            .write_all(b"a-long-passphrase\n")
            .expect("password");
        assert!(user.wait_with_output().expect("wait").status.success());
        run_ok(zellige(&env).args(["tenant", "delete", "rabat-sale", "--yes"]));
        assert!(!run_ok(zellige(&env).args(["tenant", "list"])).contains("rabat-sale"));
    });
}

#[tokio::test]
async fn export_then_import_reproduces_a_tenant() {
    on_backends!(|t| {
        let env = env_of(&t);
        let a = t.tenant("marrakech-safi").await;
        t.tenant("copy").await;
        let dir = t.config.data_dir.clone();
        let mut lines = zellige::demo::demo_lines().expect("demo").remove(0);
        lines.push((0, zellige::demo::seed_article()));
        let known = lines
            .iter()
            .filter_map(|(_, l)| l.id.clone().map(|id| (l.entry_type.clone(), id)))
            .collect();
        t.content
            .import_batch(&a, lines, &known)
            .await
            .expect("load demo");
        // A published entry with a newer draft must survive the round trip too.
        let page = t
            .content
            .list(
                &a,
                "artisan",
                &Default::default(),
                zellige::store::entries::Stage::Published,
            )
            .await
            .expect("list");
        let first = &page.entries[0].0;
        // Media travel with the tenant: one picture the artisan's draft uses, one unused.
        let media = media_of(&t);
        let mut pictures = Vec::new();
        for (name, bytes) in [("ورشة.png", tiny_png(3)), ("atelier.png", tiny_png(5))] {
            let meta = zellige::media::AssetMeta {
                file_name: Some(name.into()),
                alt: serde_json::json!({"ar": "صورة الحرفي", "fr": "Photo de l'artisan"})
                    .as_object()
                    .cloned(),
                tags: Some(vec!["portrait".into()]),
                ..Default::default()
            };
            let a = media
                .upload_bytes(&a, Some("cli"), meta, bytes.into())
                .await
                .expect("upload");
            pictures.push(a);
        }
        let upd = zellige::content::EntryInput {
            locale: Some("ar".into()),
            data: serde_json::json!({"name": "اسم جديد", "photo": pictures[0].id})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..Default::default()
        };
        t.content
            .update(&a, "artisan", &first.id, upd, None, None)
            .await
            .expect("update");

        let out1 = dir.join("a.jsonl");
        run_ok(
            zellige(&env)
                .args(["export", "--tenant", "marrakech-safi", "-o"])
                .arg(&out1),
        );
        let imported = run_ok(
            zellige(&env)
                .args(["import", "--tenant", "copy"])
                .arg(&out1),
        );
        assert!(imported.contains("imported 93 entries"), "{imported}");
        let out2 = dir.join("b.jsonl");
        run_ok(
            zellige(&env)
                .args(["export", "--tenant", "copy", "-o"])
                .arg(&out2),
        );
        let strip = |p: &Path| -> Vec<serde_json::Value> {
            std::fs::read_to_string(p)
                .expect("read")
                .lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).expect("json");
                    if let Some(o) = v.as_object_mut() {
                        o.remove("version"); // history is not exported, so versions restart
                    }
                    v
                })
                .collect()
        };
        let (x, y) = (strip(&out1), strip(&out2));
        assert_eq!(x.len(), 93);
        // The media directories beside the exports hold the same assets and files.
        let assets = |p: &Path| {
            let dir = Path::new(&format!("{}.media", p.display())).to_path_buf();
            let index = std::fs::read_to_string(dir.join("assets.jsonl")).expect("assets.jsonl");
            for line in index.lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("json");
                let sha = v["sha256"].as_str().expect("sha");
                assert!(dir.join(sha).is_file(), "{sha} exported");
            }
            index
        };
        assert_eq!(assets(&out1), assets(&out2));
        assert_eq!(assets(&out1).lines().count(), 2);
        assert!(imported.contains("imported 2 media assets"), "{imported}");
        let copy = t.ctx("copy").await;
        let moved = media
            .get(&copy, &pictures[0].id)
            .await
            .expect("moved with its id");
        assert_eq!(moved.sha256, pictures[0].sha256);
        assert_eq!(moved.file_name, "ورشة.png");
        assert_eq!(x, y, "export → import → export is the identity");
        assert!(
            x.iter().any(|l| l.get("published").is_some()),
            "the pending draft was exported beside the published copy"
        );
        let again = run_ok(
            zellige(&env)
                .args(["import", "--tenant", "copy"])
                .arg(&out1),
        );
        assert!(
            again.contains("imported 0 entries") && again.contains("93 already present"),
            "{again}"
        );
    });
}

#[tokio::test]
async fn import_killed_half_way_is_completed_by_a_rerun() {
    on_backends!(|t| {
        let env = env_of(&t);
        t.tenant("marrakech-safi").await;
        let lines = zellige::demo::synthetic(1_000, 1_000, 5_000);
        let total = lines.len() as i64;
        let file = t.config.data_dir.join("big.jsonl");
        write_lines(&file, &lines);
        let mut child = zellige(&env)
            .args(["import", "--tenant", "marrakech-safi"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let started = Instant::now();
        loop {
            let n = entry_count(&t).await;
            if n >= 500 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "import made no progress"
            );
            assert!(
                child.try_wait().expect("wait").is_none(),
                "import finished before it could be killed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
        child.wait().expect("reap");
        let partial = entry_count(&t).await;
        assert!(
            partial > 0 && partial < total,
            "killed half-way: {partial} of {total}"
        );
        if t.name == "sqlite" {
            let row =
                t.db.query_one_raw(Statement::from_string(
                    t.db.get_database_backend(),
                    "PRAGMA integrity_check",
                ))
                .await
                .expect("check")
                .expect("row");
            assert_eq!(
                row.try_get::<String>("", "integrity_check").expect("text"),
                "ok"
            );
        }
        let out = run_ok(
            zellige(&env)
                .args(["import", "--tenant", "marrakech-safi"])
                .arg(&file),
        );
        assert!(
            out.contains(&format!("({partial} already present)")),
            "{out}"
        );
        assert_eq!(entry_count(&t).await, total);
        assert_eq!(t.count("entry_docs WHERE stage = 1").await, total);
        assert_eq!(
            t.count("entry_versions").await,
            total,
            "one history row per entry, no duplicates"
        );
        let ids: std::collections::HashSet<_> = lines.iter().filter_map(|l| l.id.clone()).collect();
        assert_eq!(ids.len() as i64, total);
        let _ = Config::default();
    });
}

#[test]
fn serve_demo_answers_and_prints_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = zellige(&[("ZELLIGE_DATA_DIR".into(), dir.path().display().to_string())])
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut printed = String::new();
    let mut addr = None;
    for _ in 0..20 {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("Zellige demo on http://") {
            addr = Some(rest.to_owned());
        }
        printed.push_str(&line);
        if line.contains("health:") {
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no address in {printed}"));
    assert_eq!(printed.matches("token: zlg_").count(), 4, "{printed}");
    assert!(printed.contains("marrakech-safi") && printed.contains("casablanca-settat"));
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    child.kill().expect("kill");
    child.wait().expect("reap");
    // A second start on the same data directory reuses the demo and prints the same tokens.
    let out = zellige(&[("ZELLIGE_DATA_DIR".into(), dir.path().display().to_string())])
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut child = out;
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut second = String::new();
    for _ in 0..8 {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        second.push_str(&line);
    }
    child.kill().expect("kill");
    child.wait().expect("reap");
    let tokens = |s: &str| {
        s.lines()
            .filter(|l| l.contains("token:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(tokens(&printed), tokens(&second));
}

#[tokio::test]
async fn reindex_rebuilds_the_search_index_from_the_database() {
    on_backends!(|t| {
        let media = media_of(&t);
        zellige::demo::ensure(&t.content, &media, &t.config.data_dir)
            .await
            .expect("demo");
        let ctx = t.ctx("marrakech-safi").await;
        let out = run_ok(
            zellige(&env_of(&t))
                .args(["reindex", "--tenant", "marrakech-safi"])
                .stderr(Stdio::piped()),
        );
        let _ = out;
        let index = t.config.data_dir.join("search").join(ctx.id());
        assert!(index.join("meta.json").is_file(), "{}", index.display());
        // The search service finds the seed article in the rebuilt index.
        let search = zellige::search::Search::from_config(&t.config).expect("search");
        let (terms, prefix) = zellige::search::query_terms("التعاونيات");
        let results = search
            .backend()
            .search(
                ctx.id(),
                zellige::search::SearchRequest {
                    terms,
                    prefix,
                    types: vec!["article".into()],
                    locale: "ar".into(),
                    filter: None,
                    facets: vec![],
                    offset: 0,
                    limit: 10,
                },
            )
            .await
            .expect("search");
        assert!(
            results
                .hits
                .iter()
                .any(|h| h.entry_id == "015d186a-3580-7000-8000-000000000001"),
            "{results:?}"
        );
    });
}

#[tokio::test]
async fn the_demo_over_a_database_that_has_it_issues_new_credentials_and_keeps_the_content() {
    // A second node (or a removed data directory) meets a database that already has the demo,
    // without the file its tokens were saved in: it must start, with working credentials.
    on_backends!(|t| {
        let media = media_of(&t);
        let first = zellige::demo::ensure(&t.content, &media, &t.config.data_dir)
            .await
            .expect("demo");
        let entries = entry_count(&t).await;
        let other = tempfile::tempdir().expect("tempdir");
        let second = zellige::demo::ensure(&t.content, &media, other.path())
            .await
            .expect("the demo over a database that has it");
        assert_eq!(
            entry_count(&t).await,
            entries,
            "the content is not loaded twice"
        );
        assert_eq!(first.len(), second.len());
        let reads = zellige::store::Reads::for_config(&t.config, t.content.db().clone());
        for (a, b) in first.iter().zip(&second) {
            assert_eq!(a.slug, b.slug);
            assert_ne!(a.public_token, b.public_token, "new tokens are issued");
            for token in [&a.public_token, &b.public_token, &b.editor_token] {
                let principal = zellige::auth::authenticate_token(&reads, token)
                    .await
                    .expect("lookup");
                assert!(principal.is_some(), "{token} authenticates");
            }
            // The account's password is the newly printed one.
            let ctx = t.ctx(&b.slug).await;
            let users = zellige::auth::list_users(t.content.db(), &ctx)
                .await
                .expect("users");
            assert_eq!(
                users.iter().filter(|u| u.email == b.admin_email).count(),
                1,
                "{users:?}"
            );
            let row = t
                .content
                .db()
                .query_one_raw(Statement::from_string(
                    t.content.db().get_database_backend(),
                    format!(
                        "SELECT password_hash FROM users WHERE email = '{}'",
                        b.admin_email
                    ),
                ))
                .await
                .expect("query")
                .expect("the account");
            let hash: String = row.try_get("", "password_hash").expect("hash");
            assert!(zellige::auth::verify_password(&b.admin_password, &hash));
            assert!(!zellige::auth::verify_password(&a.admin_password, &hash));
        }
        // The saved tokens of the new directory are reused on its next start.
        let third = zellige::demo::ensure(&t.content, &media, other.path())
            .await
            .expect("demo again");
        assert_eq!(
            second.iter().map(|d| &d.public_token).collect::<Vec<_>>(),
            third.iter().map(|d| &d.public_token).collect::<Vec<_>>()
        );
    });
}

/// A `zellige serve` process, killed when dropped: a test that fails part-way leaves no server
/// behind (its indexer went on polling the database).
struct Server(std::process::Child);

impl Server {
    /// SIGKILL, and the process reaped.
    fn kill(&mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `zellige serve` on the test database with a fast indexer.
fn serve(env: &[(String, String)]) -> Server {
    Server(
        zellige(env)
            .env("ZELLIGE_SEARCH_INTERVAL_MS", "20")
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve"),
    )
}

#[tokio::test]
async fn search_index_survives_kill_9_in_the_middle_of_a_batch() {
    on_backends!(|t| {
        let env = env_of(&t);
        let ctx = t.tenant("marrakech-safi").await;
        let search = zellige::search::Search::from_config(&t.config).expect("search");
        let consumer = search.consumer().to_owned();
        let position = || async {
            zellige::store::outbox::position(&t.db, &consumer, &ctx)
                .await
                .expect("position")
        };
        let latest = || async {
            zellige::store::outbox::latest(&t.db, &ctx)
                .await
                .expect("latest")
        };
        let wait_until = |what: &'static str, done: Box<dyn Fn(i64, i64) -> bool>| {
            let position = &position;
            let latest = &latest;
            async move {
                let started = Instant::now();
                loop {
                    let (p, l) = (position().await, latest().await);
                    if done(p, l) {
                        return (p, l);
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(180),
                        "{what}: position {p} of {l}"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        };
        // One entry indexed, so that what follows is applied in batches (not rebuilt).
        let first = t.config.data_dir.join("first.jsonl");
        write_lines(&first, &zellige::demo::synthetic(1, 0, 0));
        run_ok(
            zellige(&env)
                .args(["import", "--tenant", "marrakech-safi"])
                .arg(&first),
        );
        let mut server = serve(&env);
        wait_until("first pass", Box::new(|p, l| p > 0 && p == l)).await;
        // Thousands of events while the server runs; kill it once it is part-way through.
        // Watched while the import runs: after it, an indexer that kept pace may be done
        // before a look finds it part-way.
        let file = t.config.data_dir.join("more.jsonl");
        let lines = zellige::demo::synthetic(1_000, 500, 2_500);
        write_lines(&file, &lines);
        let import = zellige(&env)
            .args(["import", "--tenant", "marrakech-safi"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn import");
        let (before, _) = wait_until("indexing", Box::new(|p, l| p > 1 && p < l)).await;
        server.kill();
        let at_kill = position().await;
        let imported = import.wait_with_output().expect("import");
        assert!(
            imported.status.success(),
            "import: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
        let total_events = latest().await;
        assert!(
            at_kill < total_events,
            "killed before the end: {before} → {at_kill} of {total_events}"
        );
        // A new process picks up from the last committed position and converges.
        let mut server = serve(&env);
        wait_until("recovery", Box::new(|p, l| p == l)).await;
        server.kill();
        let published = t.count("entry_docs WHERE stage = 1").await;
        let results = search
            .backend()
            .search(
                ctx.id(),
                zellige::search::SearchRequest {
                    terms: vec![],
                    prefix: None,
                    types: vec![],
                    locale: "ar".into(),
                    filter: None,
                    facets: vec!["type".into()],
                    offset: 0,
                    limit: 20_000,
                },
            )
            .await
            .expect("search after recovery");
        let ids: std::collections::HashSet<&str> =
            results.hits.iter().map(|h| h.entry_id.as_str()).collect();
        assert_eq!(
            results.total as i64, published,
            "every published entry, once"
        );
        assert_eq!(ids.len(), results.hits.len(), "no duplicates");
        let expected: std::collections::HashSet<String> =
            lines.iter().filter_map(|l| l.id.clone()).collect();
        assert!(
            expected.iter().all(|id| ids.contains(id.as_str())),
            "every imported entry is found"
        );
    });
}

#[tokio::test]
async fn a_schedule_due_while_the_server_was_stopped_fires_once_at_start() {
    on_backends!(|t| {
        let env = env_of(&t);
        let ctx = t.tenant("marrakech-safi").await;
        let entry = t
            .content
            .create(
                &ctx,
                "article",
                zellige::content::EntryInput {
                    data: serde_json::json!({"title": "معرض الخزف بآسفي"})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    locale: Some("ar".into()),
                    ..Default::default()
                },
                Some("user:editor"),
            )
            .await
            .expect("create");
        t.content
            .schedule(
                &ctx,
                "article",
                &entry.id,
                zellige::content::schedule::ScheduleChange {
                    publish_at: Some(Some(zellige::time::now_ms() + 300)),
                    unpublish_at: None,
                },
                Some("user:editor"),
            )
            .await
            .expect("schedule");
        // Due while no server runs.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let published = || async {
            t.content
                .get(
                    &ctx,
                    "article",
                    &zellige::content::Lookup::Id(entry.id.clone()),
                    zellige::store::entries::Stage::Published,
                )
                .await
                .expect("get")
                .is_some()
        };
        assert!(!published().await);
        let mut server = serve(&env);
        let started = Instant::now();
        while !published().await {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never published"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A second start changes nothing: it fired once.
        server.kill();
        let mut server = serve(&env);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        server.kill();
        let events = zellige::store::outbox::read(&t.db, &ctx, 0, 1_000)
            .await
            .expect("outbox");
        let published_events = events
            .iter()
            .filter(|e| e.kind == "entry.published" && e.entry_id.as_deref() == Some(&entry.id))
            .count();
        assert_eq!(published_events, 1);
        assert!(
            zellige::store::schedules::for_entry(&t.db, ctx.id(), &entry.id)
                .await
                .expect("schedules")
                .is_empty()
        );
    });
}

#[tokio::test]
async fn webhook_deliveries_pending_at_kill_9_are_delivered_after_restart() {
    on_backends!(|t| {
        let mut env = env_of(&t);
        env.push((
            "ZELLIGE_WEBHOOKS__ALLOW_PRIVATE".into(),
            "[\"127.0.0.0/8\"]".into(),
        ));
        env.push(("ZELLIGE_WEBHOOKS__INTERVAL_MS".into(), "20".into()));
        env.push(("ZELLIGE_WEBHOOKS__TIMEOUT_MS".into(), "1000".into()));
        let ctx = t.tenant("marrakech-safi").await;
        // A receiver that takes its time, so that the server is killed mid-way.
        let got: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
        let seen = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let seen = seen.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                        seen.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(id.to_owned());
                    }
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut config = t.config.webhooks.clone();
        config.allow_private = vec!["127.0.0.0/8".into()];
        let hooks = zellige::webhooks::Webhooks::new(t.content.clone(), &config).expect("webhooks");
        hooks
            .create(
                &ctx,
                zellige::webhooks::WebhookInput {
                    url: Some(format!("http://{addr}/hook")),
                    events: Some(vec!["*.created".into()]),
                    ..Default::default()
                },
                "cli",
            )
            .await
            .expect("webhook");
        let total = 30;
        for i in 0..total {
            t.content
                .create(
                    &ctx,
                    "article",
                    zellige::content::EntryInput {
                        data: serde_json::json!({"title": format!("ورشة {i}")})
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                        locale: Some("ar".into()),
                        ..Default::default()
                    },
                    Some("cli"),
                )
                .await
                .expect("create");
        }
        let count = |got: &std::sync::Arc<std::sync::Mutex<Vec<String>>>| {
            got.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        let mut server = serve(&env);
        let started = Instant::now();
        while count(&got) < 3 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "nothing delivered"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.kill();
        let at_kill = count(&got);
        assert!(
            at_kill < total,
            "killed with deliveries pending ({at_kill})"
        );
        let mut server = serve(&env);
        let started = Instant::now();
        while count(&got) < total {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "after the restart only {} of {total} arrived",
                count(&got)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill();
        assert_eq!(count(&got), total, "every event, none lost");
    });
}

/// SIGTERM stops `zellige serve` cleanly: it stops listening, its background workers end the
/// pass they are in (within `shutdown_grace_ms`), its connections are closed, and it exits 0.
#[tokio::test]
async fn serve_stops_on_sigterm_after_its_workers() {
    on_backends!(|t| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = zellige(&env_of(&t))
            .env("RUST_LOG", "info")
            .env("ZELLIGE_SEARCH_INTERVAL_MS", "20")
            .env("ZELLIGE_SHUTDOWN_GRACE_MS", "5000")
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready = loop {
            let answered = std::net::TcpStream::connect(("127.0.0.1", port))
                .and_then(|mut s| {
                    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
                    let mut answer = String::new();
                    s.read_to_string(&mut answer)?;
                    Ok(answer)
                })
                .is_ok_and(|a| a.starts_with("HTTP/1.1 200"));
            if answered || Instant::now() > deadline {
                break answered;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(ready, "the server never became ready ({})", t.name);
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(term.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "still running 20 s after SIGTERM ({})",
                t.name
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut logs = String::new();
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read>),
        ]
        .into_iter()
        .flatten()
        {
            let mut text = String::new();
            BufReader::new(pipe)
                .read_to_string(&mut text)
                .expect("read logs");
            logs.push_str(&text);
        }
        assert!(status.success(), "exit {status:?} ({}): {logs}", t.name);
        assert!(logs.contains("stopped"), "no `stopped` in: {logs}");
        assert!(
            !logs.contains("still busy at shutdown") && !logs.contains("closing the database"),
            "{logs}"
        );
    });
}
