//! Schemathesis (PyPI) against the live server with the admin API's own OpenAPI document:
//! every check on (no server errors, statuses, content types and bodies as documented,
//! invalid input refused, auth not ignored, deleted resources gone, 405 with `Allow` for
//! undeclared methods), in examples, coverage, fuzzing and stateful phases. Skipped, with a
//! reason, where Python 3 with `venv` is not installed. The tool is installed into
//! `tests/schemathesis/.venv` (pinned in `requirements.txt`) on first use.

use std::path::Path;
use std::process::Command;

use zellige_e2e::TestApp;

fn install(dir: &Path) -> std::path::PathBuf {
    let venv = dir.join(".venv");
    let bin = venv.join("bin/schemathesis");
    if !bin.exists() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(dir.join("requirements.txt"))
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pip install schemathesis failed");
    }
    bin
}

#[tokio::test]
async fn schemathesis_finds_nothing() {
    if !zellige_e2e::python_venv_or_skip("Schemathesis") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis");
    let bin = install(&dir);
    let app = TestApp::spawn().await.expect("spawn");
    app.demo().await.expect("demo");
    // A tenant admin for the tenant routes, an operator for the tenant management routes.
    // Revoking tokens gets its own credential: the fuzzer lists tokens and would otherwise
    // revoke the one it is using halfway through.
    let admin = app.admin_token("marrakech-safi").await.expect("token");
    let revoker = app.admin_token("marrakech-safi").await.expect("token");
    let operator = app.operator_session().await.expect("operator");
    for (who, token, filter) in [
        (
            "tenant admin",
            admin,
            "--exclude-path-regex=^/admin/api/v1/(tenants|tokens)",
        ),
        (
            "token manager",
            revoker,
            "--include-path-regex=^/admin/api/v1/tokens",
        ),
        (
            "operator",
            operator,
            "--include-path-regex=^/admin/api/v1/tenants",
        ),
    ] {
        let (schema, base, bin, dir) = (
            app.url("/admin/api/openapi.json"),
            app.url(""),
            bin.clone(),
            dir.clone(),
        );
        let out = tokio::task::spawn_blocking(move || {
            Command::new(bin)
                .args(["run", &schema, "--url", &base, "--no-color", filter])
                .arg("-H")
                .arg(format!("Authorization: Bearer {token}"))
                .current_dir(dir)
                .output()
        })
        .await
        .expect("join")
        .expect("schemathesis");
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            out.status.success(),
            "Schemathesis found problems as {who}:\n{stdout}"
        );
    }
}
