//! The admin REST API end to end: the served document matches the routes, tenants by
//! operators, login/logout, throttling, token revocation and expiry, content types with the
//! data-loss guard, entries, users, settings and the audit log, on SQLite and PostgreSQL.

use serde_json::{Value, json};
use zellige_e2e::TestApp;

/// Fills the path parameters of a documented path with harmless values.
fn concrete(path: &str) -> String {
    path.replace("{slug}", "no-such-tenant")
        .replace("{name}", "article")
        .replace("{type}", "article")
        .replace("{id}", "00000000-0000-7000-8000-000000000000")
        .replace("{version}", "1")
}

#[tokio::test]
async fn every_documented_operation_is_routed() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let served: Value = app
        .client
        .get(app.url("/admin/api/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(served, zellige::http::admin::openapi_json());
    let paths = served["paths"].as_object().expect("paths");
    let mut count = 0;
    for (path, item) in paths {
        for (method, _) in item.as_object().expect("operations") {
            let url = app.url(&concrete(path));
            let r = app
                .client
                .request(method.to_uppercase().parse()?, &url)
                .header("x-tenant", "no-such-tenant")
                .send()
                .await?;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            // A routed operation answers with our error shape; the router's own 404/405 has
            // no body.
            assert!(
                body["code"].is_string() && status != 405,
                "{method} {path}: {status} {body}"
            );
            count += 1;
        }
    }
    assert!(count >= 30, "{count} operations");
    // And nothing undocumented is routed.
    for (method, path) in [
        ("GET", "/admin/api/v1/nothing"),
        ("PUT", "/admin/api/v1/users"),
    ] {
        let r = app
            .client
            .request(method.parse()?, app.url(path))
            .send()
            .await?;
        assert!(matches!(r.status().as_u16(), 404 | 405), "{method} {path}");
    }
    Ok(())
}

/// Creates a tenant with an admin through an operator; returns the admin's session token.
async fn tenant_with_admin(app: &TestApp, slug: &str) -> anyhow::Result<String> {
    let op = app.operator_session().await?;
    let email = format!("admin@{slug}.ma");
    let a = app
        .admin(
            "POST",
            "/tenants",
            Some(&op),
            Some(json!({
                "slug": slug, "name": "غرفة الصناعة التقليدية", "locales": ["ar", "fr"],
                "admin": { "email": email, "password": "كلمة-سر-المدير" }
            })),
        )
        .await;
    anyhow::ensure!(a.status == 201, "create tenant: {a:?}");
    let login = app.login(slug, &email, "كلمة-سر-المدير").await;
    anyhow::ensure!(login.status == 200, "login: {login:?}");
    Ok(login.body["token"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn operators_manage_tenants_and_users_log_in_and_out() -> anyhow::Result<()> {
    for app in TestApp::both().await? {
        let op = app.operator_session().await?;
        // Bad input names the field and the rule; nothing is created.
        let bad = app
            .admin(
                "POST",
                "/tenants",
                Some(&op),
                Some(json!({ "slug": "Bad Slug", "name": "" })),
            )
            .await;
        assert_eq!(bad.status, 400, "{bad:?}");
        let paths: Vec<&str> = bad.body["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["path"].as_str())
            .collect();
        assert!(
            paths.contains(&"slug") && paths.contains(&"name"),
            "{paths:?}"
        );
        // A weak first-admin password refuses the whole tenant.
        let weak = app
            .admin(
                "POST",
                "/tenants",
                Some(&op),
                Some(json!({ "slug": "fes-meknes", "name": "Fès-Meknès",
                    "admin": { "email": "a@fes.ma", "password": "short" } })),
            )
            .await;
        assert_eq!(weak.status, 400);
        assert_eq!(weak.body["fields"][0]["path"], "admin.password");
        let list = app.admin("GET", "/tenants", Some(&op), None).await;
        assert_eq!(list.body, json!([]), "nothing half-created");

        let admin = tenant_with_admin(&app, "fes-meknes").await?;
        assert!(admin.starts_with("zls_"));
        let me = app.admin("GET", "/auth/me", Some(&admin), None).await;
        assert_eq!(me.body["kind"], "user");
        assert_eq!(me.body["role"], "admin");
        assert_eq!(me.body["tenant"], "fes-meknes");
        // Tenant users cannot manage tenants; operators cannot touch content.
        let denied = app.admin("GET", "/tenants", Some(&admin), None).await;
        assert_eq!(denied.status, 403);
        let denied = app
            .admin_with(
                "GET",
                "/entries/article",
                Some(&op),
                &[("x-tenant", "fes-meknes")],
                None,
            )
            .await;
        assert_eq!(denied.status, 403, "{denied:?}");

        // Wrong password and unknown account look the same.
        let wrong = app
            .login("fes-meknes", "admin@fes-meknes.ma", "nope-nope-nope")
            .await;
        let unknown = app
            .login("fes-meknes", "who@fes-meknes.ma", "nope-nope-nope")
            .await;
        assert_eq!((wrong.status, unknown.status), (401, 401));
        assert_eq!(wrong.body["message"], unknown.body["message"]);

        // Logout ends the session at once.
        let out = app.admin("POST", "/auth/logout", Some(&admin), None).await;
        assert_eq!(out.status, 204);
        let after = app.admin("GET", "/auth/me", Some(&admin), None).await;
        assert_eq!(after.status, 401);

        // Deleting the tenant deletes everything, and is audited at platform level.
        let del = app
            .admin("DELETE", "/tenants/fes-meknes", Some(&op), None)
            .await;
        assert_eq!(del.status, 204);
        let gone = app
            .admin("GET", "/tenants/fes-meknes", Some(&op), None)
            .await;
        assert_eq!(gone.status, 404);
    }
    Ok(())
}

#[tokio::test]
async fn brute_force_login_is_slowed() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(|c| {
        c.auth.login_per_account_per_minute = 3;
        c.auth.refusal_window_secs = 1;
    })
    .await?;
    let admin = tenant_with_admin(&app, "oriental").await?;
    for _ in 0..2 {
        let a = app
            .login("oriental", "admin@oriental.ma", "guess-guess-1")
            .await;
        assert_eq!(a.status, 401);
    }
    let limited = app
        .login("oriental", "admin@oriental.ma", "guess-guess-2")
        .await;
    assert_eq!(limited.status, 429, "{limited:?}");
    assert_eq!(limited.code(), "RATE_LIMITED");
    let retry: u64 = limited
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    // Even the right password waits now.
    let right = app
        .login("oriental", "admin@oriental.ma", "كلمة-سر-المدير")
        .await;
    assert_eq!(right.status, 429);
    // The attempts are in the audit log, without any password: the first of each kind at once,
    // repeats counted in one row when their window ends.
    let log = app
        .admin("GET", "/audit?action=auth.login_failed", Some(&admin), None)
        .await;
    let items = log.body["items"].as_array().expect("items");
    assert!(
        items.iter().any(|e| e["detail"]["reason"] == "credentials"),
        "{log:?}"
    );
    assert!(
        items.iter().any(|e| e["detail"]["reason"] == "throttled"),
        "{log:?}"
    );
    assert!(!log.body.to_string().contains("guess-guess"));
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let log = app
        .admin("GET", "/audit?action=auth.login_failed", Some(&admin), None)
        .await;
    let repeated: u64 = log.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["detail"]["repeated"].as_u64())
        .sum();
    assert!(repeated >= 2, "{log:?}");
    Ok(())
}

/// A new public token of the tenant `admin` administers: (secret, id).
async fn public_token(app: &TestApp, admin: &str) -> (String, String) {
    let made = app
        .admin(
            "POST",
            "/tokens",
            Some(admin),
            Some(json!({ "name": "site", "kind": "public" })),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    let secret = made.body["secret"].as_str().expect("secret").to_owned();
    let id = made.body["id"].as_str().expect("id").to_owned();
    (secret, id)
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused_at_once() -> anyhow::Result<()> {
    for app in TestApp::both().await? {
        app.demo().await?;
        let admin = app.admin_token("marrakech-safi").await?;
        let (secret, id) = public_token(&app, &admin).await;
        let q = "{ articles(first: 1) { totalCount } }";
        let (status, _, _) = app.graphql(Some(&secret), q, json!({})).await;
        assert_eq!(status, 200);
        // Listed without the secret, with its last use (recorded in the background).
        let mut listed = json!(null);
        for _ in 0..100 {
            let list = app.admin("GET", "/tokens", Some(&admin), None).await;
            assert!(!list.body.to_string().contains(&secret));
            listed = list
                .body
                .as_array()
                .expect("list")
                .iter()
                .find(|t| t["id"] == id.as_str())
                .cloned()
                .expect("listed");
            if listed["lastUsedAt"].is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(listed["lastUsedAt"].is_string(), "{listed}");
        // Revoked: refused on the very next request, on both surfaces.
        let revoked = app
            .admin("DELETE", &format!("/tokens/{id}"), Some(&admin), None)
            .await;
        assert_eq!(revoked.status, 200);
        assert!(revoked.body["revokedAt"].is_string());
        let (status, _, body) = app.graphql(Some(&secret), q, json!({})).await;
        assert_eq!(status, 401, "{body}");
        let me = app.admin("GET", "/auth/me", Some(&secret), None).await;
        assert_eq!(me.status, 401);

        // Expiry in the past is refused; a token that expires is refused after it.
        let past = app
            .admin(
                "POST",
                "/tokens",
                Some(&admin),
                Some(
                    json!({ "name": "old", "kind": "public", "expiresAt": "2020-01-01T00:00:00Z" }),
                ),
            )
            .await;
        assert_eq!(past.status, 400);
        assert_eq!(past.body["fields"][0]["path"], "expiresAt");
        let soon = zellige::time::to_rfc3339(zellige::time::now_ms() + 1_500);
        let short = app
            .admin(
                "POST",
                "/tokens",
                Some(&admin),
                Some(json!({ "name": "short", "kind": "preview", "expiresAt": soon })),
            )
            .await;
        let secret = short.body["secret"].as_str().expect("secret").to_owned();
        assert_eq!(app.graphql(Some(&secret), q, json!({})).await.0, 200);
        tokio::time::sleep(std::time::Duration::from_millis(1_700)).await;
        assert_eq!(app.graphql(Some(&secret), q, json!({})).await.0, 401);
    }
    Ok(())
}

/// Without the response cache, a query of a token a node has checked before runs at once and
/// its first read brings the token's check along (PostgreSQL). Revocation still holds on the
/// very next request, on another node too, whether a read carried the check (a page with
/// rows) or not (an empty page, a query that reads nothing).
#[tokio::test]
async fn a_known_token_is_checked_with_its_first_read_and_revocation_holds() -> anyhow::Result<()> {
    for app in TestApp::both_with(|c| c.limits.graphql_cache_bytes = 0).await? {
        app.demo().await?;
        let other = app.another_node().await?;
        let admin = app.admin_token("marrakech-safi").await?;
        let (secret, id) = public_token(&app, &admin).await;
        let page = "{ articles(first: 2) { nodes { id title } } }";
        let empty = r#"{ articles(where: {city: {eq: "لا مدينة"}}, first: 1) { nodes { id } } }"#;
        let nothing = "{ __typename }";
        let mut pages = Vec::new();
        for _ in 0..2 {
            for q in [page, empty, nothing] {
                let (status, _, body) = other.graphql(Some(&secret), q, json!({})).await;
                assert_eq!(status, 200, "{q}: {body}");
                assert!(body.get("errors").is_none(), "{q}: {body}");
                if q == page {
                    pages.push(body);
                }
            }
        }
        // The same answer before and after the node knew the token.
        assert_eq!(pages[0], pages[1]);
        assert_eq!(
            pages[0]["data"]["articles"]["nodes"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        // Its tenant only: another tenant named is refused, as before.
        let (status, _, body) = other
            .graphql_with(
                Some(&secret),
                &[("x-tenant", "casablanca-settat")],
                page,
                json!({}),
            )
            .await;
        assert_eq!(status, 403, "{body}");

        let metrics = other
            .client
            .get(other.url("/metrics"))
            .send()
            .await?
            .text()
            .await?;
        let count = |how: &str| -> f64 {
            let prefix = format!("zellige_deferred_token_checks_total{{how=\"{how}\"}} ");
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        if app.state.content.reads().carries_checks() {
            // The first request checked the token before it ran. The second page rode along;
            // both empty pages and queries without reads were checked on their own after.
            assert_eq!(count("carried"), 1.0, "{metrics}");
            assert_eq!(count("alone"), 4.0, "{metrics}");
        } else {
            assert_eq!(count("carried") + count("alone"), 0.0, "{metrics}");
        }

        // Revoked through the first node: refused by the other at its next request, each way.
        let revoked = app
            .admin("DELETE", &format!("/tokens/{id}"), Some(&admin), None)
            .await;
        assert_eq!(revoked.status, 200);
        for q in [page, empty, nothing, page] {
            let (status, _, body) = other.graphql(Some(&secret), q, json!({})).await;
            assert_eq!(status, 401, "{q}: {body}");
            assert_eq!(zellige_e2e::code(&body), "UNAUTHENTICATED", "{body}");
            assert!(body.get("data").is_none_or(Value::is_null), "{body}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn content_types_entries_users_settings_and_audit() -> anyhow::Result<()> {
    for app in TestApp::both().await? {
        let admin = tenant_with_admin(&app, "souss-massa").await?;
        // A content type through the API.
        let workshop = json!({
            "name": "workshop", "plural": "workshops", "slugFrom": "title",
            "fields": [
                { "name": "title", "type": "string", "required": true, "localized": true },
                { "name": "seats", "type": "integer", "filterable": true, "sortable": true }
            ]
        });
        let made = app
            .admin(
                "POST",
                "/content-types",
                Some(&admin),
                Some(workshop.clone()),
            )
            .await;
        assert_eq!(made.status, 201, "{made:?}");
        let invalid = app
            .admin(
                "POST",
                "/content-types",
                Some(&admin),
                Some(json!({ "name": "Bad Name", "plural": "x", "fields": [] })),
            )
            .await;
        assert_eq!(invalid.status, 400);
        assert!(
            invalid.body["fields"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );

        // Entries: create in Arabic, read, update with expectedVersion, publish, history.
        let e = app
            .admin(
                "POST",
                "/entries/workshop",
                Some(&admin),
                Some(json!({ "locale": "ar", "data": { "title": "ورشة الزليج", "seats": 12 } })),
            )
            .await;
        assert_eq!(e.status, 201, "{e:?}");
        assert_eq!(e.body["slug"], "ورشة-الزليج");
        let id = e.body["id"].as_str().expect("id").to_owned();
        let stale = app
            .admin(
                "PATCH",
                &format!("/entries/workshop/{id}"),
                Some(&admin),
                Some(json!({ "data": { "seats": 10 }, "expectedVersion": 7 })),
            )
            .await;
        assert_eq!((stale.status, stale.code()), (409, "CONFLICT"));
        let upd = app
            .admin(
                "PATCH",
                &format!("/entries/workshop/{id}"),
                Some(&admin),
                Some(json!({ "data": { "seats": 10 }, "expectedVersion": 1 })),
            )
            .await;
        assert_eq!(upd.status, 200, "{upd:?}");
        assert_eq!(upd.body["version"], 2);
        let bad = app
            .admin(
                "PATCH",
                &format!("/entries/workshop/{id}"),
                Some(&admin),
                Some(json!({ "data": { "seats": "many" } })),
            )
            .await;
        assert_eq!(bad.status, 400);
        assert_eq!(bad.body["fields"][0]["path"], "seats");
        let pubd = app
            .admin(
                "POST",
                &format!("/entries/workshop/{id}/publish"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(pubd.body["status"], "PUBLISHED");
        let listed = app
            .admin(
                "GET",
                "/entries/workshop?status=published&sort=-seats&filter=%7B%22seats%22%3A%7B%22gte%22%3A10%7D%7D",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(listed.body["totalCount"], 1, "{listed:?}");
        assert_eq!(
            listed.body["items"][0]["data"]["title"]["ar"],
            "ورشة الزليج"
        );
        let versions = app
            .admin(
                "GET",
                &format!("/entries/workshop/{id}/versions"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(versions.body.as_array().map(Vec::len), Some(3));
        let restored = app
            .admin(
                "POST",
                &format!("/entries/workshop/{id}/versions/1/restore"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(restored.body["data"]["seats"], 12, "{restored:?}");

        // The data-loss guard: dropping `seats` is refused unless forced.
        let mut smaller = workshop.clone();
        smaller["fields"] = json!([workshop["fields"][0]]);
        let refused = app
            .admin(
                "PUT",
                "/content-types/workshop",
                Some(&admin),
                Some(json!({ "definition": smaller })),
            )
            .await;
        assert_eq!(refused.status, 409, "{refused:?}");
        let field = &refused.body["fields"][0];
        assert_eq!(field["path"], "seats", "{refused:?}");
        assert_eq!(field["rule"], "dataLoss");
        assert_eq!(field["loss"]["entries"], 1);
        assert_eq!(field["loss"]["sample"], json!([id]));
        let forced = app
            .admin(
                "PUT",
                "/content-types/workshop",
                Some(&admin),
                Some(json!({ "definition": smaller, "force": true })),
            )
            .await;
        assert_eq!(forced.status, 200);

        // Users: an author may edit only own entries and never publish.
        let author = app
            .admin(
                "POST",
                "/users",
                Some(&admin),
                Some(json!({ "email": "Katib@Souss.ma", "role": "author", "password": "كاتب-المقالات" })),
            )
            .await;
        assert_eq!(author.status, 201, "{author:?}");
        assert_eq!(author.body["email"], "katib@souss.ma");
        assert!(!author.body.to_string().contains("argon2"));
        let dup = app
            .admin(
                "POST",
                "/users",
                Some(&admin),
                Some(json!({ "email": "katib@souss.ma", "role": "viewer", "password": "another-password" })),
            )
            .await;
        assert_eq!(dup.status, 409);
        let session = app
            .login("souss-massa", "katib@souss.ma", "كاتب-المقالات")
            .await;
        let author_token = session.body["token"].as_str().expect("token").to_owned();
        let others = app
            .admin(
                "PATCH",
                &format!("/entries/workshop/{id}"),
                Some(&author_token),
                Some(json!({ "data": { "title": { "ar": "تغيير" } } })),
            )
            .await;
        assert_eq!(others.status, 403, "{others:?}");
        let own = app
            .admin(
                "POST",
                "/entries/workshop",
                Some(&author_token),
                Some(json!({ "locale": "ar", "data": { "title": "ورشة النسيج" } })),
            )
            .await;
        let own_id = own.body["id"].as_str().expect("id").to_owned();
        let edit = app
            .admin(
                "PATCH",
                &format!("/entries/workshop/{own_id}"),
                Some(&author_token),
                Some(json!({ "locale": "ar", "data": { "title": "ورشة النسيج التقليدي" } })),
            )
            .await;
        assert_eq!(edit.status, 200, "{edit:?}");
        let publish = app
            .admin(
                "POST",
                &format!("/entries/workshop/{own_id}/publish"),
                Some(&author_token),
                None,
            )
            .await;
        assert_eq!(publish.status, 403);
        // Nor in the same request as a write: refused before anything is saved.
        let count = |token: String| {
            let app = &app;
            async move {
                app.admin("GET", "/entries/workshop", Some(&token), None)
                    .await
                    .body["totalCount"]
                    .clone()
            }
        };
        let before = count(admin.clone()).await;
        let forced = app
            .admin(
                "POST",
                "/entries/workshop",
                Some(&author_token),
                Some(json!({ "locale": "ar", "data": { "title": "ورشة الخزف" }, "publish": true })),
            )
            .await;
        assert_eq!(forced.status, 403, "{forced:?}");
        assert_eq!(count(admin.clone()).await, before);
        // An editor (here the admin) creates and publishes at once, with the original date.
        let now = app
            .admin(
                "POST",
                "/entries/workshop",
                Some(&admin),
                Some(json!({ "locale": "ar", "data": { "title": "ورشة الخزف" }, "publish": true, "publishedAt": "2018-11-20T09:00:00Z" })),
            )
            .await;
        assert_eq!(now.status, 201, "{now:?}");
        assert_eq!(now.body["status"], "PUBLISHED");
        assert_eq!(
            now.body["publishedAt"], "2018-11-20T09:00:00.000Z",
            "{now:?}"
        );
        let lone = app
            .admin(
                "PATCH",
                &format!("/entries/workshop/{own_id}"),
                Some(&admin),
                Some(json!({ "publishedAt": "2018-11-20T09:00:00Z" })),
            )
            .await;
        assert_eq!(lone.status, 400, "{lone:?}");
        assert_eq!(lone.body["fields"][0]["path"], "publishedAt");
        let redated = app
            .admin(
                "POST",
                &format!("/entries/workshop/{own_id}/publish"),
                Some(&admin),
                Some(json!({ "publishedAt": "2020-01-02T03:04:05Z" })),
            )
            .await;
        assert_eq!(
            redated.body["publishedAt"], "2020-01-02T03:04:05.000Z",
            "{redated:?}"
        );
        // Disabling the author ends the session at once; the last admin cannot be demoted.
        let author_id = author.body["id"].as_str().expect("id");
        let off = app
            .admin(
                "PATCH",
                &format!("/users/{author_id}"),
                Some(&admin),
                Some(json!({ "disabled": true })),
            )
            .await;
        assert_eq!(off.status, 200);
        assert_eq!(
            app.admin("GET", "/auth/me", Some(&author_token), None)
                .await
                .status,
            401
        );
        let me = app.admin("GET", "/auth/me", Some(&admin), None).await;
        let admin_id = me.body["id"].as_str().expect("id");
        let demote = app
            .admin(
                "PATCH",
                &format!("/users/{admin_id}"),
                Some(&admin),
                Some(json!({ "role": "editor" })),
            )
            .await;
        assert_eq!(demote.status, 400);
        assert_eq!(demote.body["fields"][0]["rule"], "lastAdmin");

        // Settings: narrowing a role per type, validated.
        let unknown_type = app
            .admin(
                "PATCH",
                "/settings",
                Some(&admin),
                Some(json!({ "permissions": { "editor": { "nothing": ["read"] } } })),
            )
            .await;
        assert_eq!(unknown_type.status, 400);
        let narrowed = app
            .admin(
                "PATCH",
                "/settings",
                Some(&admin),
                Some(json!({ "anonymousRead": true, "permissions": { "viewer": { "workshop": ["read"] } } })),
            )
            .await;
        assert_eq!(narrowed.status, 200, "{narrowed:?}");
        assert_eq!(narrowed.body["anonymousRead"], true);
        // Locales can be added (and used at once), never removed: their values would be lost.
        let before = app.admin("GET", "/settings", Some(&admin), None).await;
        let mut locales: Vec<Value> = before.body["locales"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let dropped = app
            .admin(
                "PATCH",
                "/settings",
                Some(&admin),
                Some(json!({ "locales": locales[1..].to_vec() })),
            )
            .await;
        assert_eq!(dropped.status, 400, "{dropped:?}");
        assert_eq!(dropped.body["fields"][0]["rule"], "keep");
        locales.push(json!("en"));
        let added = app
            .admin(
                "PATCH",
                "/settings",
                Some(&admin),
                Some(json!({ "locales": locales })),
            )
            .await;
        assert_eq!(added.status, 200, "{added:?}");
        assert_eq!(added.body["locales"], json!(locales));
        let mut english = None;
        for _ in 0..40 {
            let r = app
                .admin(
                    "POST",
                    "/entries/workshop",
                    Some(&admin),
                    Some(json!({ "data": { "title": { "ar": "ورشة الدباغة", "en": "Tannery workshop" } } })),
                )
                .await;
            if r.status == 201 {
                english = Some(r);
                break;
            }
            // The tenant row is cached per node for at most half a second.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let english = english.expect("an entry in the new locale");
        assert_eq!(english.body["data"]["title"]["en"], "Tannery workshop");

        // The audit log has every write, newest first, paged.
        let page = app.admin("GET", "/audit?first=5", Some(&admin), None).await;
        let items = page.body["items"].as_array().expect("items");
        assert_eq!(items.len(), 5);
        assert_eq!(items[0]["action"], "entry.created");
        assert_eq!(items[1]["action"], "settings.updated");
        let next = page.body["nextCursor"].as_str().expect("more");
        let all = app
            .admin(
                "GET",
                &format!("/audit?first=100&after={next}"),
                Some(&admin),
                None,
            )
            .await;
        let rest = all.body["items"].as_array().expect("items");
        assert!(
            rest.iter().all(|e| e["id"].as_str() < Some(next)),
            "older than the cursor"
        );
        let actions: Vec<&str> = items
            .iter()
            .chain(rest)
            .filter_map(|e| e["action"].as_str())
            .collect();
        for expected in [
            "entry.created",
            "entry.updated",
            "entry.published",
            "content_type.created",
            "content_type.changed",
            "user.created",
            "user.updated",
            "auth.login",
        ] {
            assert!(
                actions.contains(&expected),
                "{expected} missing from {actions:?}"
            );
        }
        assert!(
            !all.body.to_string().contains("كلمة-سر"),
            "no password in the log"
        );
    }
    Ok(())
}

#[tokio::test]
async fn injection_attempts_are_inert() -> anyhow::Result<()> {
    for app in TestApp::both().await? {
        app.demo().await?;
        let admin = app.admin_token("marrakech-safi").await?;
        let before = app
            .admin("GET", "/entries/article?first=1", Some(&admin), None)
            .await;
        let total = before.body["totalCount"].clone();
        for hostile in [
            "' OR '1'='1",
            "x'); DROP TABLE entry_docs; --",
            "\" OR 1=1 --",
            "%' OR tenant_id LIKE '%",
        ] {
            let enc: String = url_encode(hostile);
            let by_id = app
                .admin(
                    "GET",
                    &format!("/entries/article/{enc}"),
                    Some(&admin),
                    None,
                )
                .await;
            assert_eq!(by_id.status, 404, "{hostile}: {by_id:?}");
            for op in ["eq", "contains", "startsWith"] {
                let filter = url_encode(&json!({ "city": { op: hostile } }).to_string());
                let filtered = app
                    .admin(
                        "GET",
                        &format!("/entries/artisan?filter={filter}"),
                        Some(&admin),
                        None,
                    )
                    .await;
                assert_eq!(filtered.status, 200, "{filtered:?}");
                assert_eq!(filtered.body["totalCount"], 0, "{op} {hostile}");
            }
            let sort = app
                .admin(
                    "GET",
                    &format!("/entries/article?sort={enc}"),
                    Some(&admin),
                    None,
                )
                .await;
            assert_eq!(sort.status, 400, "{sort:?}");
            let typ = app
                .admin("GET", &format!("/entries/{enc}"), Some(&admin), None)
                .await;
            assert_eq!(typ.status, 404);
            let (_, _, gql) = app
                .graphql(
                    Some(&admin),
                    "query($s: String) { article(slug: $s) { id } }",
                    json!({ "s": hostile }),
                )
                .await;
            assert_eq!(gql["data"]["article"], Value::Null);
        }
        let after = app
            .admin("GET", "/entries/article?first=1", Some(&admin), None)
            .await;
        assert_eq!(after.body["totalCount"], total);
    }
    Ok(())
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn refusals_are_audited() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.demo().await?;
    let admin = app.admin_token("marrakech-safi").await?;
    let viewer = app
        .admin(
            "POST",
            "/users",
            Some(&admin),
            Some(json!({ "email": "nadira@marrakech.ma", "role": "viewer", "password": "كلمة-سر-طويلة" })),
        )
        .await;
    let viewer_id = viewer.body["id"].as_str().expect("id").to_owned();
    let session = app
        .login("marrakech-safi", "nadira@marrakech.ma", "كلمة-سر-طويلة")
        .await;
    let token = session.body["token"].as_str().expect("token").to_owned();
    let refused = app.admin("GET", "/users", Some(&token), None).await;
    assert_eq!(refused.status, 403);
    let crossing = app
        .admin_with(
            "GET",
            "/settings",
            Some(&token),
            &[("x-tenant", "casablanca-settat")],
            None,
        )
        .await;
    assert_eq!(crossing.status, 403);
    let log = app
        .admin("GET", "/audit?action=access.denied", Some(&admin), None)
        .await;
    let items = log.body["items"].as_array().expect("items");
    let actor = format!("user:{viewer_id}");
    let targets: Vec<&str> = items
        .iter()
        .filter(|e| e["actor"] == actor.as_str())
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert!(targets.contains(&"GET /admin/api/v1/users"), "{log:?}");
    assert!(targets.contains(&"X-Tenant casablanca-settat"), "{log:?}");
    // The other tenant's log has nothing of it.
    let other = app.admin_token("casablanca-settat").await?;
    let theirs = app
        .admin("GET", "/audit?action=access.denied", Some(&other), None)
        .await;
    assert_eq!(theirs.body["items"], json!([]));
    Ok(())
}

#[tokio::test]
async fn a_flood_of_refusals_writes_a_bounded_audit_trail() -> anyhow::Result<()> {
    for app in TestApp::both_with(|c| {
        zellige_e2e::quiet(c);
        c.auth.refusal_window_secs = 1;
        c.auth.refusals_per_minute = 5;
    })
    .await?
    {
        let admin = tenant_with_admin(&app, "oriental").await?;
        // 60 logins for accounts that do not exist, from one client: throttled after a few,
        // and after that nothing reaches the database.
        let before = app.queries.load(std::sync::atomic::Ordering::SeqCst);
        for i in 0..60 {
            let a = app
                .login(
                    "oriental",
                    &format!("nobody-{}@oriental.ma", i % 3),
                    "guess-guess-1",
                )
                .await;
            assert!(matches!(a.status, 401 | 429), "{a:?}");
        }
        let statements = app.queries.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!(
            statements <= 45,
            "{statements} statements for 60 refused logins"
        );
        // The rows written are bounded (5 a minute), and what was not written is counted.
        tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
        let log = app
            .admin("GET", "/audit?first=100", Some(&admin), None)
            .await;
        let items = log.body["items"].as_array().expect("items");
        let failed = items
            .iter()
            .filter(|e| e["action"] == "auth.login_failed" && e["detail"]["repeated"].is_null())
            .count();
        assert!(failed <= 5, "{failed} rows: {log:?}");
        let suppressed: u64 = items
            .iter()
            .filter(|e| e["action"] == "audit.refusals_suppressed")
            .filter_map(|e| e["detail"]["count"].as_u64())
            .sum();
        let repeated: u64 = items
            .iter()
            .filter_map(|e| e["detail"]["repeated"].as_u64())
            .sum();
        assert_eq!(failed as u64 + suppressed + repeated, 60, "{log:?}");
    }
    Ok(())
}
