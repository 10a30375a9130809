//! The admin UI in a real browser: headless Chromium (Debian's `chromium`) driven by
//! `playwright-core` from `tests/admin-ui/ui.mjs`, against the real server on a loopback port
//! with the demo tenant. It covers the editor's path from login to a published article read back
//! over GraphQL, an author without publishing, two editors in conflict, a content-type change
//! that would drop data, a token's secret shown once, the session cookie and CSRF rules, the
//! CSP header, and axe-core on every screen (no serious or critical violation).
//!
//! `ZELLIGE_UPDATE_SCREENSHOTS=1` also writes the screenshots in `docs/screenshots/`.
//! Skipped, saying why, where Node.js, npm or Chromium are missing (a failure under
//! `ZELLIGE_TEST_REQUIRE_ALL`).

use std::process::Command;

use serde_json::json;
use zellige_e2e::TestApp;

/// Debian's Chromium (or `ZELLIGE_TEST_CHROMIUM`).
fn chromium() -> Option<String> {
    std::env::var("ZELLIGE_TEST_CHROMIUM")
        .ok()
        .into_iter()
        .chain([
            "/usr/bin/chromium".to_owned(),
            "/usr/bin/chromium-browser".to_owned(),
        ])
        .find(|p| std::path::Path::new(p).exists())
}

#[tokio::test]
async fn the_admin_ui_in_chromium() -> anyhow::Result<()> {
    if !zellige_e2e::node_or_skip("the admin UI browser tests") {
        return Ok(());
    }
    let Some(browser) = chromium() else {
        zellige_e2e::skip_or_fail("the admin UI browser tests: chromium is not installed");
        return Ok(());
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("admin-ui");
    if !dir.join("node_modules/playwright-core").exists()
        || !dir.join("node_modules/axe-core").exists()
    {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()?;
        assert!(status.success(), "npm ci failed");
    }
    // The search indexer runs (the lists' search reads the index).
    let app = TestApp::spawn().await?;
    let demo = app.demo_with_plugins().await?;
    let slug = demo.marrakech.slug.clone();
    let admin = app.admin_token(&slug).await?;
    let users = [
        ("admin", "mudir@marrakech-safi.ma", "كلمة-سر-المدير-2026"),
        (
            "editor",
            "muharrir@marrakech-safi.ma",
            "كلمة-سر-المحرر-2026",
        ),
        (
            "editor",
            "muharrira@marrakech-safi.ma",
            "كلمة-سر-المحررة-2026",
        ),
        ("author", "katib@marrakech-safi.ma", "كلمة-سر-الكاتب-2026"),
    ];
    for (role, email, password) in users {
        let made = app
            .admin(
                "POST",
                "/users",
                Some(&admin),
                Some(json!({ "email": email, "role": role, "password": password })),
            )
            .await;
        assert_eq!(made.status, 201, "{made:?}");
    }
    // A small type with stored data, for the content-type builder's data-loss confirmation.
    let workshop = json!({"name": "workshop", "plural": "workshops", "slugFrom": "title", "fields": [
        {"name": "title", "type": "string", "required": true, "localized": true},
        {"name": "seats", "type": "integer"}
    ]});
    assert_eq!(
        app.admin("POST", "/content-types", Some(&admin), Some(workshop))
            .await
            .status,
        201
    );
    let made = app
        .admin(
            "POST",
            "/entries/workshop",
            Some(&admin),
            Some(json!({"data": {"title": {"ar": "ورشة الزليج"}, "seats": 12}})),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");

    let screenshots = std::env::var("ZELLIGE_UPDATE_SCREENSHOTS")
        .is_ok_and(|v| v == "1")
        .then(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../docs/screenshots")
                .display()
                .to_string()
        });
    let base = app.url("");
    let public = demo.marrakech.public_token.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new("node");
        cmd.arg("ui.mjs")
            .current_dir(dir)
            .env("BASE_URL", base.trim_end_matches('/'))
            .env("TENANT", slug)
            .env("CHROMIUM", browser)
            .env("PUBLIC_TOKEN", public)
            .env("USERS", serde_json::to_string(&users).unwrap_or_default());
        if let Some(dir) = screenshots {
            cmd.env("SCREENSHOTS", dir);
        }
        cmd.output()
    })
    .await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser tests failed:\n{stdout}");
    assert!(stdout.contains("all scenarios passed"), "{stdout}");
    Ok(())
}
