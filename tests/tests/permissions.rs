//! The permission matrix: every role and token kind against every operation, on GraphQL and
//! on the admin API, and every credential of one tenant against the other tenant's data. The
//! expected outcome comes from the table in SPEC §4 written out here, not from the code under
//! test.

use serde_json::{Value, json};
use zellige_e2e::{TestApp, code};

const A: &str = "marrakech-safi";
const B: &str = "casablanca-settat";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Public,
    Preview,
    EditorToken,
    AdminToken,
    AdminUser,
    EditorUser,
    AuthorUser,
    ViewerUser,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    ReadDrafts,
    Create,
    /// Update an entry someone else created.
    Update,
    Publish,
    /// Delete an entry someone else created.
    Delete,
    ManageTypes,
    ManageUsers,
    ManageTokens,
    Settings,
    Audit,
}

const ALL_WHO: [Who; 9] = [
    Who::Anonymous,
    Who::Public,
    Who::Preview,
    Who::EditorToken,
    Who::AdminToken,
    Who::AdminUser,
    Who::EditorUser,
    Who::AuthorUser,
    Who::ViewerUser,
];

const ALL_OPS: [Op; 11] = [
    Op::Read,
    Op::ReadDrafts,
    Op::Create,
    Op::Update,
    Op::Publish,
    Op::Delete,
    Op::ManageTypes,
    Op::ManageUsers,
    Op::ManageTokens,
    Op::Settings,
    Op::Audit,
];

/// SPEC §4, as a table. The demo tenant allows anonymous reads of published content over
/// GraphQL; the admin API always needs a credential.
fn allowed(who: Who, op: Op, rest: bool) -> bool {
    use Op::*;
    let content = matches!(op, Read | ReadDrafts | Create | Update | Publish | Delete);
    match who {
        Who::Anonymous => op == Read && !rest,
        Who::Public => op == Read,
        Who::Preview | Who::ViewerUser => matches!(op, Read | ReadDrafts),
        Who::EditorToken | Who::EditorUser => content,
        Who::AdminToken | Who::AdminUser => true,
        Who::AuthorUser => matches!(op, Read | ReadDrafts | Create),
    }
}

fn denied_status(who: Who) -> u16 {
    if who == Who::Anonymous { 401 } else { 403 }
}

struct World {
    app: TestApp,
    admin: String,
    creds: Vec<(Who, Option<String>)>,
    b_entry: String,
    b_title: String,
}

async fn world(app: TestApp) -> anyhow::Result<World> {
    let demo = app.demo().await?;
    let admin = app.admin_token(A).await?;
    let mut creds = vec![(Who::Anonymous, None)];
    for (who, kind) in [
        (Who::Public, "public"),
        (Who::Preview, "preview"),
        (Who::EditorToken, "editor"),
        (Who::AdminToken, "admin"),
    ] {
        let t = app
            .admin(
                "POST",
                "/tokens",
                Some(&admin),
                Some(json!({ "name": kind, "kind": kind })),
            )
            .await;
        creds.push((who, t.body["secret"].as_str().map(str::to_owned)));
    }
    for (who, role) in [
        (Who::AdminUser, "admin"),
        (Who::EditorUser, "editor"),
        (Who::AuthorUser, "author"),
        (Who::ViewerUser, "viewer"),
    ] {
        let email = format!("{role}@marrakech.ma");
        let made = app
            .admin(
                "POST",
                "/users",
                Some(&admin),
                Some(json!({ "email": email, "role": role, "password": "كلمة-سر-طويلة" })),
            )
            .await;
        anyhow::ensure!(made.status == 201, "{made:?}");
        let s = app.login(A, &email, "كلمة-سر-طويلة").await;
        creds.push((who, s.body["token"].as_str().map(str::to_owned)));
    }
    anyhow::ensure!(
        creds
            .iter()
            .all(|(w, c)| *w == Who::Anonymous || c.is_some())
    );
    // An entry of tenant B, to aim at.
    let b_admin = app.admin_token(B).await?;
    let b_title = "سر غرفة الدار البيضاء".to_owned();
    let e = app
        .admin(
            "POST",
            "/entries/article",
            Some(&b_admin),
            Some(json!({ "locale": "ar", "data": { "title": b_title, "category": "news" } })),
        )
        .await;
    let b_entry = e.body["id"].as_str().unwrap_or_default().to_owned();
    drop(demo);
    Ok(World {
        app,
        admin,
        creds,
        b_entry,
        b_title,
    })
}

impl World {
    /// A fresh entry of tenant A created by the admin token (so nobody else owns it).
    async fn victim(&self) -> String {
        let e = self
            .app
            .admin(
                "POST",
                "/entries/article",
                Some(&self.admin),
                Some(json!({ "locale": "ar", "data": { "title": "مقال للاختبار", "category": "news" } })),
            )
            .await;
        e.body["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Runs one operation over GraphQL; `None` where GraphQL has no such operation.
    async fn graphql(&self, token: Option<&str>, op: Op) -> Option<(u16, Value)> {
        let headers: &[(&str, &str)] = &[("x-tenant", A)];
        let (query, vars) = match op {
            Op::Read => ("{ articles(first: 1) { totalCount } }".to_owned(), json!({})),
            Op::ReadDrafts => (
                "{ articles(first: 1, status: DRAFT) { totalCount } }".to_owned(),
                json!({}),
            ),
            Op::Create => (
                "mutation { createArticle(data: { title: \"خبر جديد\", category: \"news\" }, locale: \"ar\") { id } }".to_owned(),
                json!({}),
            ),
            Op::Update => (
                "mutation($id: ID!) { updateArticle(id: $id, data: { category: \"training\" }) { id } }".to_owned(),
                json!({ "id": self.victim().await }),
            ),
            Op::Publish => (
                "mutation($id: ID!) { publishArticle(id: $id) { id } }".to_owned(),
                json!({ "id": self.victim().await }),
            ),
            Op::Delete => (
                "mutation($id: ID!) { deleteArticle(id: $id) }".to_owned(),
                json!({ "id": self.victim().await }),
            ),
            _ => return None,
        };
        let (status, _, body) = self.app.graphql_with(token, headers, &query, vars).await;
        Some((status, body))
    }

    /// Runs one operation over the admin API.
    async fn rest(&self, token: Option<&str>, op: Op, n: usize) -> (u16, Value) {
        let (method, path, body) = match op {
            Op::Read => ("GET", "/entries/article?status=published".to_owned(), None),
            Op::ReadDrafts => ("GET", "/entries/article".to_owned(), None),
            Op::Create => (
                "POST",
                "/entries/article".to_owned(),
                Some(json!({ "locale": "ar", "data": { "title": "خبر", "category": "news" } })),
            ),
            Op::Update => (
                "PATCH",
                format!("/entries/article/{}", self.victim().await),
                Some(json!({ "data": { "category": "training" } })),
            ),
            Op::Publish => (
                "POST",
                format!("/entries/article/{}/publish", self.victim().await),
                None,
            ),
            Op::Delete => (
                "DELETE",
                format!("/entries/article/{}", self.victim().await),
                None,
            ),
            Op::ManageTypes => (
                "POST",
                "/content-types".to_owned(),
                Some(
                    json!({ "name": format!("kind{n}"), "plural": format!("kinds{n}"),
                    "fields": [{ "name": "title", "type": "string" }] }),
                ),
            ),
            Op::ManageUsers => ("GET", "/users".to_owned(), None),
            Op::ManageTokens => ("GET", "/tokens".to_owned(), None),
            Op::Settings => ("GET", "/settings".to_owned(), None),
            Op::Audit => ("GET", "/audit".to_owned(), None),
        };
        let a = self
            .app
            .admin_with(method, &path, token, &[("x-tenant", A)], body)
            .await;
        (a.status, a.body)
    }
}

#[tokio::test]
async fn every_role_and_token_kind_against_every_operation() -> anyhow::Result<()> {
    for app in TestApp::both().await? {
        let w = world(app).await?;
        let mut n = 0;
        let mut failures = Vec::new();
        for (who, token) in &w.creds {
            assert!(ALL_WHO.contains(who));
            for op in ALL_OPS {
                n += 1;
                let expect = allowed(*who, op, true);
                let (status, body) = w.rest(token.as_deref(), op, n).await;
                let ok = (200..300).contains(&status);
                if ok != expect || (!ok && status != denied_status(*who)) {
                    failures.push(format!("REST {who:?} {op:?}: {status} {body}"));
                }
                let expect = allowed(*who, op, false);
                if let Some((status, body)) = w.graphql(token.as_deref(), op).await {
                    let ok = status == 200 && body["errors"].is_null();
                    let expected_code = if *who == Who::Anonymous {
                        "UNAUTHENTICATED"
                    } else {
                        "FORBIDDEN"
                    };
                    if ok != expect || (!ok && code(&body) != expected_code) {
                        failures.push(format!("GraphQL {who:?} {op:?}: {status} {body}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    Ok(())
}

#[tokio::test]
async fn no_credential_of_one_tenant_reaches_the_other() -> anyhow::Result<()> {
    for app in TestApp::both().await? {
        let w = world(app).await?;
        let b = &w.b_entry;
        for (who, token) in w.creds.iter().filter(|(w, _)| *w != Who::Anonymous) {
            let token = token.as_deref();
            let mut answers = Vec::new();
            // Naming tenant B while holding a credential of A: refused.
            for (method, path) in [
                ("GET", "/entries/article".to_owned()),
                ("GET", format!("/entries/article/{b}")),
                ("PATCH", format!("/entries/article/{b}")),
                ("DELETE", format!("/entries/article/{b}")),
                ("GET", "/users".to_owned()),
                ("GET", "/audit".to_owned()),
                ("GET", "/settings".to_owned()),
            ] {
                let body = (method == "PATCH").then(|| json!({ "data": { "category": "news" } }));
                let a = w
                    .app
                    .admin_with(method, &path, token, &[("x-tenant", B)], body)
                    .await;
                assert_eq!(
                    a.status, 403,
                    "{who:?} {method} {path} with X-Tenant B: {a:?}"
                );
                answers.push(a.body.to_string());
            }
            let (status, _, body) = w
                .app
                .graphql_with(
                    token,
                    &[("x-tenant", B)],
                    "{ articles { totalCount } }",
                    json!({}),
                )
                .await;
            assert_eq!(status, 403, "{who:?}");
            answers.push(body.to_string());
            // B's ids inside A's context: not found, never B's data.
            for path in [
                format!("/entries/article/{b}"),
                format!("/entries/article/{b}?status=published"),
                format!("/entries/article/{b}/versions"),
            ] {
                let a = w.app.admin("GET", &path, token, None).await;
                assert!(matches!(a.status, 403 | 404), "{who:?} GET {path}: {a:?}");
                answers.push(a.body.to_string());
            }
            for (method, path) in [
                ("PATCH", format!("/entries/article/{b}")),
                ("POST", format!("/entries/article/{b}/publish")),
                ("DELETE", format!("/entries/article/{b}")),
                ("POST", format!("/entries/article/{b}/versions/1/restore")),
            ] {
                let body = (method == "PATCH").then(|| json!({ "data": { "category": "news" } }));
                let a = w.app.admin(method, &path, token, body).await;
                assert!(
                    matches!(a.status, 403 | 404),
                    "{who:?} {method} {path}: {a:?}"
                );
                answers.push(a.body.to_string());
            }
            for (query, vars) in [
                (
                    "query($id: ID) { article(id: $id, status: DRAFT) { id title } }",
                    json!({ "id": b }),
                ),
                (
                    "query($id: ID) { article(id: $id) { id title } }",
                    json!({ "id": b }),
                ),
                (
                    "mutation($id: ID!) { updateArticle(id: $id, data: { category: \"news\" }) { id } }",
                    json!({ "id": b }),
                ),
                (
                    "mutation($id: ID!) { publishArticle(id: $id) { id } }",
                    json!({ "id": b }),
                ),
                (
                    "mutation($id: ID!) { deleteArticle(id: $id) }",
                    json!({ "id": b }),
                ),
            ] {
                let (_, _, body) = w.app.graphql(token, query, vars).await;
                assert!(
                    body["data"].is_null() || body["data"]["article"].is_null(),
                    "{who:?} {query}: {body}"
                );
                answers.push(body.to_string());
            }
            for text in answers {
                assert!(!text.contains(&w.b_title), "{who:?} saw B's data: {text}");
                assert!(!text.contains(B), "{who:?} learned B's slug: {text}");
            }
        }
        // B's entry is untouched.
        let b_admin = w.app.admin_token(B).await?;
        let e = w
            .app
            .admin(
                "GET",
                &format!("/entries/article/{b}"),
                Some(&b_admin),
                None,
            )
            .await;
        assert_eq!(e.body["version"], 1, "{e:?}");
        assert_eq!(e.body["data"]["title"]["ar"], w.b_title.as_str());
    }
    Ok(())
}
