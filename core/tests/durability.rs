//! The server is killed with SIGKILL in the middle of a concurrent mutation load. After a
//! restart every mutation that had been acknowledged is present, every one that had failed
//! inside its transaction (a taken slug, found under the write lock) is absent, and every one
//! in flight at the kill is all or nothing: a create that also publishes is either absent or
//! present as draft, published copy and both versions (SQLite, and PostgreSQL when configured).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

struct Server {
    child: Child,
    addr: String,
    editor: String,
}

fn start(env: &[(String, String)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zellige"));
    cmd.env_remove("ZELLIGE_DATABASE_URL")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let (mut addr, mut editor) = (String::new(), String::new());
    for _ in 0..20 {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if let Some(a) = line.trim().strip_prefix("Zellige demo on http://") {
            addr = a.to_owned();
        }
        if editor.is_empty()
            && let Some(t) = line.trim().strip_prefix("editor token: ")
        {
            editor = t.to_owned();
        }
        if line.contains("health:") {
            break;
        }
    }
    assert!(
        !addr.is_empty() && !editor.is_empty(),
        "server did not start"
    );
    Server {
        child,
        addr,
        editor,
    }
}

#[derive(Default)]
struct Outcomes {
    /// (title, id, published with the create)
    acknowledged: Vec<(String, String, bool)>,
    failed: Vec<String>,
    /// (title, published with the create): sent, no answer before the kill.
    in_flight: Vec<(String, bool)>,
}

#[tokio::test]
async fn acknowledged_mutations_survive_sigkill() {
    on_backends!(|t| {
        let mut env = vec![(
            "ZELLIGE_DATA_DIR".to_owned(),
            t.config.data_dir.display().to_string(),
        )];
        if let Some(url) = &t.config.database_url {
            env.push(("ZELLIGE_DATABASE_URL".to_owned(), url.expose().to_owned()));
        }
        let mut server = start(&env);
        let url = format!("http://{}/graphql", server.addr);
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let outcomes = Arc::new(Mutex::new(Outcomes::default()));
        // A slug every fourth write asks for: taken, which the create finds inside its write
        // transaction.
        let taken = json!({"query": "mutation { createArticle(data: {title: \"durability-taken\", slug: \"durability-taken\"}) { slug } }"});
        let v: Value = client
            .post(&url)
            .bearer_auth(&server.editor)
            .json(&taken)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(
            v["data"]["createArticle"]["slug"], "durability-taken",
            "{v}"
        );
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let (client, url, token, outcomes, stop) = (
                client.clone(),
                url.clone(),
                server.editor.clone(),
                outcomes.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let title = format!("durability-{worker}-{n}");
                    let slug = if n % 4 == 0 { Some("durability-taken") } else { None };
                    let publish = n % 4 == 2;
                    let body = json!({"query": "mutation($t: String, $s: String, $p: Boolean) { createArticle(data: {title: $t, slug: $s}, publish: $p) { id } }", "variables": {"t": title, "s": slug, "p": publish}});
                    let answer = match client.post(&url).bearer_auth(&token).json(&body).send().await {
                        Ok(resp) => resp.json::<Value>().await.ok(),
                        Err(_) => None,
                    };
                    let mut o = outcomes.lock().expect("lock");
                    let Some(v) = answer else {
                        o.in_flight.push((title, publish));
                        break;
                    };
                    match v["data"]["createArticle"]["id"].as_str() {
                        Some(id) => o.acknowledged.push((title, id.to_owned(), publish)),
                        None if v["errors"].is_array() => o.failed.push(title),
                        None => {}
                    }
                }
            }));
        }
        // Let the load run, then kill the server in the middle of it.
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if outcomes.lock().expect("lock").acknowledged.len() >= 60 {
                break;
            }
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reap");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in tasks {
            let _ = task.await;
        }
        let outcomes = std::mem::take(&mut *outcomes.lock().expect("lock"));
        assert!(
            outcomes.acknowledged.len() >= 10,
            "too little load: {}",
            outcomes.acknowledged.len()
        );
        assert!(!outcomes.failed.is_empty());

        let mut server = start(&env);
        let url = format!("http://{}/graphql", server.addr);
        // Every durability entry after the restart: title → (id, version, status).
        let mut present: std::collections::HashMap<String, (String, i64, String)> =
            std::collections::HashMap::new();
        let mut published = std::collections::HashSet::new();
        for status in ["DRAFT", "PUBLISHED"] {
            let mut after = Value::Null;
            loop {
                let body = json!({"query": format!("query($a: String) {{ articles(status: {status}, first: 100, after: $a) {{ nodes {{ id title version status }} pageInfo {{ hasNextPage endCursor }} }} }}"), "variables": {"a": after}});
                let v: Value = client
                    .post(&url)
                    .bearer_auth(&server.editor)
                    .json(&body)
                    .send()
                    .await
                    .expect("query")
                    .json()
                    .await
                    .expect("json");
                let conn = &v["data"]["articles"];
                for n in conn["nodes"].as_array().expect("nodes") {
                    let title = n["title"].as_str().unwrap_or("").to_owned();
                    let id = n["id"].as_str().unwrap_or("").to_owned();
                    if status == "PUBLISHED" {
                        published.insert(id);
                    } else {
                        let version = n["version"].as_i64().unwrap_or(0);
                        let state = n["status"].as_str().unwrap_or("").to_owned();
                        present.insert(title, (id, version, state));
                    }
                }
                if conn["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = conn["pageInfo"]["endCursor"].clone();
            }
        }
        // A create that published is whole: its draft at version 2, marked published, and its
        // published copy; a plain create is its draft at version 1.
        let whole = |title: &str, publish: bool| -> Option<bool> {
            let (id, version, state) = present.get(title)?;
            Some(if publish {
                *version == 2 && state == "PUBLISHED" && published.contains(id)
            } else {
                *version == 1 && state == "DRAFT" && !published.contains(id)
            })
        };
        for (title, id, publish) in &outcomes.acknowledged {
            assert_eq!(
                present.get(title).map(|p| &p.0),
                Some(id),
                "acknowledged write lost: {title}"
            );
            assert_eq!(whole(title, *publish), Some(true), "{title} is not whole");
        }
        for title in &outcomes.failed {
            assert!(
                !present.contains_key(title),
                "failed write present: {title}"
            );
        }
        let mut landed = 0;
        for (title, publish) in &outcomes.in_flight {
            match whole(title, *publish) {
                None => {}
                Some(true) => landed += 1,
                Some(false) => panic!("in-flight write {title} is partly there"),
            }
        }
        // Nothing else appeared.
        let ours = present
            .keys()
            .filter(|t| t.starts_with("durability-") && *t != "durability-taken")
            .count();
        assert_eq!(ours, outcomes.acknowledged.len() + landed);
        eprintln!(
            "{}: {} acknowledged, {} failed in their transaction, {} in flight ({} landed whole)",
            t.name,
            outcomes.acknowledged.len(),
            outcomes.failed.len(),
            outcomes.in_flight.len(),
            landed
        );
        server.child.kill().expect("kill");
        server.child.wait().expect("reap");
    });
}
