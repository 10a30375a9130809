//! The plugin author's path of `plugins/README.md`, step by step, with the real tools: test the
//! template natively, build its component for `wasm32-wasip2`, start `zellige serve --demo`,
//! install and enable the component with the `zellige plugin` commands, and render its widget
//! over GraphQL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

/// `cargo` in `plugins/`, as the README runs it (the components' target directory is the one
/// the server's build uses, so nothing is compiled twice).
fn cargo_in_plugins(args: &[&str]) {
    let target = Path::new(zellige::plugins::bundled::RELEASE_DIR)
        .ancestors()
        .nth(2)
        .expect("target dir")
        .to_path_buf();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(plugins_dir())
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo {args:?} failed");
}

fn zellige(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zellige"));
    c.env_remove("ZELLIGE_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .env("ZELLIGE_DATA_DIR", data_dir);
    c
}

#[tokio::test]
async fn the_readme_path_from_template_to_widget() {
    // Steps 2 and 3: test natively, build the component.
    cargo_in_plugins(&["test", "-p", "zellige-plugin-template"]);
    cargo_in_plugins(&[
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "-p",
        "zellige-plugin-template",
    ]);
    let wasm =
        Path::new(zellige::plugins::bundled::RELEASE_DIR).join("zellige_plugin_template.wasm");
    assert!(wasm.is_file(), "{}", wasm.display());

    // The server, with the demo tenants.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = zellige(dir.path())
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut reader = BufReader::new(server.stdout.take().expect("stdout"));
    let mut addr = None;
    for _ in 0..30 {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("Zellige demo on http://") {
            addr = Some(rest.to_owned());
        }
        if line.contains("health:") {
            break;
        }
    }
    let addr = addr.expect("server address");

    // Step 4: install and enable, from another process.
    let out = zellige(dir.path())
        .args(["plugin", "install"])
        .arg(&wasm)
        .arg("--manifest")
        .arg(plugins_dir().join("template/plugin.toml"))
        .output()
        .expect("install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = zellige(dir.path())
        .args(["plugin", "enable", "hello", "--tenant", "marrakech-safi"])
        .output()
        .expect("enable");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Step 5: the widget over GraphQL, picked up by the running server at its next request.
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .header("x-tenant", "marrakech-safi")
        .json(&serde_json::json!({"query": "{ widget(plugin: \"hello\", name: \"greeting\", props: {name: \"Fatima\"}) { html data cacheSeconds } }"}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let _ = server.kill();
    let _ = server.wait();
    let html = body["data"]["widget"]["html"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(html.contains("مرحبا") && html.contains("Fatima"), "{html}");
    assert!(html.contains("dir=\"rtl\""), "{html}");
}
