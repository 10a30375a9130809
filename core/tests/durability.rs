//! The server is killed with SIGKILL in the middle of a concurrent mutation load. After a
//! restart every mutation that had been acknowledged is present, and every one that had failed
//! is absent (SQLite, and PostgreSQL when configured).

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
    acknowledged: Vec<(String, String)>,
    failed: Vec<String>,
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
                    // Every fourth write is invalid on purpose: it must fail and leave nothing.
                    let category = if n % 4 == 0 { "sport" } else { "news" };
                    let body = json!({"query": "mutation($t: String, $c: String) { createArticle(data: {title: $t, category: $c}) { id } }", "variables": {"t": title, "c": category}});
                    let Ok(resp) = client.post(&url).bearer_auth(&token).json(&body).send().await else { break };
                    let Ok(v) = resp.json::<Value>().await else { break };
                    let mut o = outcomes.lock().expect("lock");
                    match v["data"]["createArticle"]["id"].as_str() {
                        Some(id) => o.acknowledged.push((title, id.to_owned())),
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
        let mut present = std::collections::HashSet::new();
        let mut after = Value::Null;
        loop {
            let body = json!({"query": "query($a: String) { articles(status: DRAFT, first: 100, after: $a) { nodes { id title } pageInfo { hasNextPage endCursor } } }", "variables": {"a": after}});
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
                present.insert((
                    n["title"].as_str().unwrap_or("").to_owned(),
                    n["id"].as_str().unwrap_or("").to_owned(),
                ));
            }
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = conn["pageInfo"]["endCursor"].clone();
        }
        for ack in &outcomes.acknowledged {
            assert!(present.contains(ack), "acknowledged write lost: {ack:?}");
        }
        for title in &outcomes.failed {
            assert!(
                !present.iter().any(|(t, _)| t == title),
                "failed write present: {title}"
            );
        }
        eprintln!(
            "{}: {} acknowledged, {} failed, {} durability entries after restart",
            t.name,
            outcomes.acknowledged.len(),
            outcomes.failed.len(),
            present
                .iter()
                .filter(|(t, _)| t.starts_with("durability-"))
                .count()
        );
        server.child.kill().expect("kill");
        server.child.wait().expect("reap");
    });
}
