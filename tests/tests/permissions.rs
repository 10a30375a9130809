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

/// What an operation needs (SPEC §4's actions, the tenant administration, the platform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    Read,
    ReadDrafts,
    Create,
    /// On an entry someone else created.
    Update,
    Publish,
    /// On an entry someone else created.
    Delete,
    /// Content types, users, tokens, settings, audit log.
    TenantAdmin,
    /// Tenants: operators only, so nobody in this matrix.
    Platform,
}

/// Every operation of both surfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    // GraphQL
    GqlList,
    GqlOne,
    GqlDrafts,
    GqlDraftOne,
    GqlCreate,
    GqlUpdate,
    GqlPublish,
    GqlUnpublish,
    GqlDelete,
    // Admin API
    ListPublished,
    GetPublished,
    ListTypes,
    GetType,
    ListDrafts,
    GetDraft,
    Versions,
    CreateEntry,
    UpdateEntry,
    RestoreEntry,
    PublishEntry,
    UnpublishEntry,
    DeleteEntry,
    CreateType,
    UpdateType,
    DeleteType,
    ListUsers,
    CreateUser,
    GetUser,
    UpdateUser,
    DeleteUser,
    ListTokens,
    CreateToken,
    RevokeToken,
    GetSettings,
    PatchSettings,
    Audit,
    ListTenants,
    CreateTenant,
    GetTenant,
    DeleteTenant,
}

const ALL_OPS: [Op; 40] = {
    use Op::*;
    [
        GqlList,
        GqlOne,
        GqlDrafts,
        GqlDraftOne,
        GqlCreate,
        GqlUpdate,
        GqlPublish,
        GqlUnpublish,
        GqlDelete,
        ListPublished,
        GetPublished,
        ListTypes,
        GetType,
        ListDrafts,
        GetDraft,
        Versions,
        CreateEntry,
        UpdateEntry,
        RestoreEntry,
        PublishEntry,
        UnpublishEntry,
        DeleteEntry,
        CreateType,
        UpdateType,
        DeleteType,
        ListUsers,
        CreateUser,
        GetUser,
        UpdateUser,
        DeleteUser,
        ListTokens,
        CreateToken,
        RevokeToken,
        GetSettings,
        PatchSettings,
        Audit,
        ListTenants,
        CreateTenant,
        GetTenant,
        DeleteTenant,
    ]
};

impl Op {
    fn cap(self) -> Cap {
        use Op::*;
        match self {
            GqlList | GqlOne | ListPublished | GetPublished | ListTypes | GetType => Cap::Read,
            GqlDrafts | GqlDraftOne | ListDrafts | GetDraft | Versions => Cap::ReadDrafts,
            GqlCreate | CreateEntry => Cap::Create,
            GqlUpdate | UpdateEntry | RestoreEntry => Cap::Update,
            GqlPublish | GqlUnpublish | PublishEntry | UnpublishEntry => Cap::Publish,
            GqlDelete | DeleteEntry => Cap::Delete,
            CreateType | UpdateType | DeleteType | ListUsers | CreateUser | GetUser
            | UpdateUser | DeleteUser | ListTokens | CreateToken | RevokeToken | GetSettings
            | PatchSettings | Audit => Cap::TenantAdmin,
            ListTenants | CreateTenant | GetTenant | DeleteTenant => Cap::Platform,
        }
    }
    fn graphql(self) -> bool {
        format!("{self:?}").starts_with("Gql")
    }
}

/// SPEC §4, as a table. The demo tenant allows anonymous reads of published content over
/// GraphQL; the admin API always needs a credential.
fn allowed(who: Who, op: Op) -> bool {
    use Cap::*;
    let cap = op.cap();
    let content = matches!(cap, Read | ReadDrafts | Create | Update | Publish | Delete);
    match who {
        Who::Anonymous => cap == Read && op.graphql(),
        Who::Public => cap == Read,
        Who::Preview | Who::ViewerUser => matches!(cap, Read | ReadDrafts),
        Who::EditorToken | Who::EditorUser => content,
        Who::AdminToken | Who::AdminUser => cap != Platform,
        // Authors read their own drafts only: lists answer (without others' drafts) and
        // another's draft is not there (null over GraphQL, 404 by id, 403 for its history).
        Who::AuthorUser => {
            matches!(cap, Read | Create)
                || matches!(op, Op::GqlDrafts | Op::GqlDraftOne | Op::ListDrafts)
        }
    }
}

fn denied_status(who: Who, op: Op) -> u16 {
    match (who, op) {
        (Who::Anonymous, _) => 401,
        (Who::AuthorUser, Op::GetDraft) => 404,
        _ => 403,
    }
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

    /// A fresh published entry of tenant A.
    async fn published_victim(&self) -> String {
        let id = self.victim().await;
        self.app
            .admin(
                "POST",
                &format!("/entries/article/{id}/publish"),
                Some(&self.admin),
                None,
            )
            .await;
        id
    }

    /// Something fresh made by the admin token, returning the id (or name) from the answer.
    async fn made(&self, path: &str, body: Value, key: &str) -> String {
        let a = self
            .app
            .admin("POST", path, Some(&self.admin), Some(body))
            .await;
        a.body[key].as_str().unwrap_or_default().to_owned()
    }

    /// Runs one operation; returns (HTTP status, body).
    async fn run(&self, token: Option<&str>, op: Op, n: usize) -> (u16, Value) {
        use Op::*;
        let gql = |query: &str, vars: Value| {
            let (query, vars) = (query.to_owned(), vars);
            async move {
                let (status, _, body) = self
                    .app
                    .graphql_with(token, &[("x-tenant", A)], &query, vars)
                    .await;
                (status, body)
            }
        };
        let ty = json!({ "name": format!("kind{n}"), "plural": format!("kinds{n}"),
            "fields": [{ "name": "title", "type": "string" }] });
        let user = json!({ "email": format!("u{n}@marrakech.ma"), "role": "viewer",
            "password": "كلمة-سر-طويلة" });
        let (method, path, body) = match op {
            GqlList => return gql("{ articles(first: 1) { totalCount } }", json!({})).await,
            GqlOne => {
                let id = self.published_victim().await;
                return gql(
                    "query($id: ID) { article(id: $id) { id } }",
                    json!({ "id": id }),
                )
                .await;
            }
            GqlDrafts => {
                return gql(
                    "{ articles(first: 1, status: DRAFT) { totalCount } }",
                    json!({}),
                )
                .await;
            }
            GqlDraftOne => {
                let id = self.victim().await;
                return gql(
                    "query($id: ID) { article(id: $id, status: DRAFT) { id } }",
                    json!({ "id": id }),
                )
                .await;
            }
            GqlCreate => {
                return gql(
                    "mutation { createArticle(data: { title: \"خبر جديد\", category: news }, locale: \"ar\") { id } }",
                    json!({}),
                )
                .await;
            }
            GqlUpdate => {
                let id = self.victim().await;
                return gql(
                    "mutation($id: ID!) { updateArticle(id: $id, data: { category: training }) { id } }",
                    json!({ "id": id }),
                )
                .await;
            }
            GqlPublish | GqlUnpublish => {
                let id = self.published_victim().await;
                let name = if op == GqlPublish {
                    "publishArticle"
                } else {
                    "unpublishArticle"
                };
                return gql(
                    &format!("mutation($id: ID!) {{ {name}(id: $id) {{ id }} }}"),
                    json!({ "id": id }),
                )
                .await;
            }
            GqlDelete => {
                let id = self.victim().await;
                return gql(
                    "mutation($id: ID!) { deleteArticle(id: $id) }",
                    json!({ "id": id }),
                )
                .await;
            }
            ListPublished => ("GET", "/entries/article?status=published".to_owned(), None),
            GetPublished => (
                "GET",
                format!(
                    "/entries/article/{}?status=published",
                    self.published_victim().await
                ),
                None,
            ),
            ListTypes => ("GET", "/content-types".to_owned(), None),
            GetType => ("GET", "/content-types/article".to_owned(), None),
            ListDrafts => ("GET", "/entries/article".to_owned(), None),
            GetDraft => (
                "GET",
                format!("/entries/article/{}", self.victim().await),
                None,
            ),
            Versions => (
                "GET",
                format!("/entries/article/{}/versions", self.victim().await),
                None,
            ),
            CreateEntry => (
                "POST",
                "/entries/article".to_owned(),
                Some(json!({ "locale": "ar", "data": { "title": "خبر", "category": "news" } })),
            ),
            UpdateEntry => (
                "PATCH",
                format!("/entries/article/{}", self.victim().await),
                Some(json!({ "data": { "category": "training" } })),
            ),
            RestoreEntry => (
                "POST",
                format!(
                    "/entries/article/{}/versions/1/restore",
                    self.victim().await
                ),
                None,
            ),
            PublishEntry => (
                "POST",
                format!("/entries/article/{}/publish", self.victim().await),
                None,
            ),
            UnpublishEntry => (
                "POST",
                format!(
                    "/entries/article/{}/unpublish",
                    self.published_victim().await
                ),
                None,
            ),
            DeleteEntry => (
                "DELETE",
                format!("/entries/article/{}", self.victim().await),
                None,
            ),
            CreateType => ("POST", "/content-types".to_owned(), Some(ty)),
            UpdateType => {
                let name = self.made("/content-types", ty.clone(), "name").await;
                (
                    "PUT",
                    format!("/content-types/{name}"),
                    Some(json!({ "definition": ty })),
                )
            }
            DeleteType => {
                let name = self.made("/content-types", ty, "name").await;
                ("DELETE", format!("/content-types/{name}"), None)
            }
            ListUsers => ("GET", "/users".to_owned(), None),
            CreateUser => ("POST", "/users".to_owned(), Some(user)),
            GetUser => (
                "GET",
                format!("/users/{}", self.made("/users", user, "id").await),
                None,
            ),
            UpdateUser => (
                "PATCH",
                format!("/users/{}", self.made("/users", user, "id").await),
                Some(json!({ "role": "author" })),
            ),
            DeleteUser => (
                "DELETE",
                format!("/users/{}", self.made("/users", user, "id").await),
                None,
            ),
            ListTokens => ("GET", "/tokens".to_owned(), None),
            CreateToken => (
                "POST",
                "/tokens".to_owned(),
                Some(json!({ "name": "t", "kind": "public" })),
            ),
            RevokeToken => {
                let id = self
                    .made("/tokens", json!({ "name": "t", "kind": "public" }), "id")
                    .await;
                ("DELETE", format!("/tokens/{id}"), None)
            }
            GetSettings => ("GET", "/settings".to_owned(), None),
            PatchSettings => (
                "PATCH",
                "/settings".to_owned(),
                Some(json!({ "name": "غرفة الصناعة التقليدية لجهة مراكش-آسفي" })),
            ),
            Audit => ("GET", "/audit".to_owned(), None),
            ListTenants => ("GET", "/tenants".to_owned(), None),
            CreateTenant => (
                "POST",
                "/tenants".to_owned(),
                Some(json!({ "slug": format!("t{n}"), "name": "x" })),
            ),
            GetTenant => ("GET", format!("/tenants/{A}"), None),
            DeleteTenant => ("DELETE", format!("/tenants/{B}"), None),
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
        let whos: Vec<Who> = w.creds.iter().map(|(w, _)| *w).collect();
        assert_eq!(whos, ALL_WHO, "every principal kind");
        for (who, token) in &w.creds {
            for op in ALL_OPS {
                n += 1;
                let expect = allowed(*who, op);
                let (status, body) = w.run(token.as_deref(), op, n).await;
                let ok = if op.graphql() {
                    status == 200 && body["errors"].is_null()
                } else {
                    (200..300).contains(&status)
                };
                let refused_right = if op.graphql() {
                    code(&body)
                        == if *who == Who::Anonymous {
                            "UNAUTHENTICATED"
                        } else {
                            "FORBIDDEN"
                        }
                } else {
                    status == denied_status(*who, op)
                };
                if ok != expect || (!ok && !refused_right) {
                    failures.push(format!("{who:?} {op:?}: {status} {body}"));
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
                    "mutation($id: ID!) { updateArticle(id: $id, data: { category: news }) { id } }",
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

#[tokio::test]
async fn a_tenant_narrows_a_role_per_content_type_everywhere() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let w = world(app).await?;
    let viewer = w
        .creds
        .iter()
        .find(|(who, _)| *who == Who::ViewerUser)
        .and_then(|(_, t)| t.clone())
        .expect("viewer");
    let q = "{ articles(first: 20) { totalCount edges { node { relatedEvents { id } } } } }";
    let (_, _, before) = w.app.graphql(Some(&viewer), q, json!({})).await;
    assert!(before["errors"].is_null(), "{before}");
    let set = w
        .app
        .admin(
            "PATCH",
            "/settings",
            Some(&w.admin),
            Some(json!({ "permissions": { "viewer": { "event": [] } } })),
        )
        .await;
    assert_eq!(set.status, 200, "{set:?}");
    // Events are closed to viewers: directly, through references, and over REST.
    let (_, _, direct) = w
        .app
        .graphql(Some(&viewer), "{ events { totalCount } }", json!({}))
        .await;
    assert_eq!(code(&direct), "FORBIDDEN", "{direct}");
    let (_, _, through) = w.app.graphql(Some(&viewer), q, json!({})).await;
    assert!(
        through["errors"]
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["extensions"]["code"] == "FORBIDDEN")),
        "{through}"
    );
    assert!(
        !through.to_string().contains("\"relatedEvents\":[{"),
        "{through}"
    );
    let rest = w
        .app
        .admin(
            "GET",
            "/entries/event?status=published",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(rest.status, 403);
    // Articles stay open, and editors are not affected.
    let (_, _, articles) = w
        .app
        .graphql(Some(&viewer), "{ articles { totalCount } }", json!({}))
        .await;
    assert!(articles["errors"].is_null());
    let editor = w
        .creds
        .iter()
        .find(|(who, _)| *who == Who::EditorUser)
        .and_then(|(_, t)| t.clone())
        .expect("editor");
    let (_, _, events) = w
        .app
        .graphql(Some(&editor), "{ events { totalCount } }", json!({}))
        .await;
    assert!(events["errors"].is_null(), "{events}");
    Ok(())
}

#[tokio::test]
async fn authors_read_their_own_drafts_and_account_ids_stay_internal() -> anyhow::Result<()> {
    for app in TestApp::both().await? {
        let demo = app.demo().await?;
        let admin = app.admin_token(A).await?;
        let mut sessions = Vec::new();
        for name in ["amina", "youssef"] {
            let email = format!("{name}@marrakech.ma");
            let made = app
                .admin(
                    "POST",
                    "/users",
                    Some(&admin),
                    Some(json!({ "email": email, "role": "author", "password": "كلمة-سر-طويلة" })),
                )
                .await;
            anyhow::ensure!(made.status == 201, "{made:?}");
            let s = app.login(A, &email, "كلمة-سر-طويلة").await;
            sessions.push(s.body["token"].as_str().unwrap_or_default().to_owned());
        }
        let (amina, youssef) = (sessions[0].as_str(), sessions[1].as_str());
        let (_, _, made) = app
            .graphql(
                Some(amina),
                "mutation { createArticle(locale: \"ar\", data: { title: \"مسودة أمينة\", category: news }) { id createdBy } }",
                json!({}),
            )
            .await;
        let id = made["data"]["createArticle"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        anyhow::ensure!(!id.is_empty(), "{made}");
        let list = "{ articles(first: 100, status: DRAFT) { totalCount nodes { id } } }";
        let one = "query($id: ID) { article(id: $id, status: DRAFT) { id title createdBy } }";
        let ids = |body: &Value| -> Vec<String> {
            body["data"]["articles"]["nodes"]
                .as_array()
                .map(|n| {
                    n.iter()
                        .filter_map(|e| e["id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };

        // Amina sees her draft, and only hers.
        let (_, _, a) = app.graphql(Some(amina), list, json!({})).await;
        assert_eq!(ids(&a), vec![id.clone()], "{a}");
        assert_eq!(a["data"]["articles"]["totalCount"], 1, "{a}");
        let (_, _, a) = app.graphql(Some(amina), one, json!({"id": id})).await;
        assert_eq!(a["data"]["article"]["title"], "مسودة أمينة", "{a}");
        assert!(a["data"]["article"]["createdBy"].is_string(), "{a}");
        // Youssef sees none of it, over GraphQL or the admin API.
        let (_, _, y) = app.graphql(Some(youssef), list, json!({})).await;
        assert!(ids(&y).is_empty(), "{y}");
        let (_, _, y) = app.graphql(Some(youssef), one, json!({"id": id})).await;
        assert!(
            y["data"]["article"].is_null() && y["errors"].is_null(),
            "{y}"
        );
        let y = app
            .admin(
                "GET",
                &format!("/entries/article/{id}"),
                Some(youssef),
                None,
            )
            .await;
        assert_eq!(y.status, 404, "{:?}", y.body);
        let y = app
            .admin("GET", "/entries/article", Some(youssef), None)
            .await;
        assert_eq!(y.body["totalCount"], 0, "{:?}", y.body);
        // An editor sees every draft.
        let (_, _, e) = app
            .graphql(Some(&demo.marrakech.editor_token), one, json!({"id": id}))
            .await;
        assert_eq!(e["data"]["article"]["id"], id.as_str(), "{e}");

        // Once published, readers of published content see it without account ids.
        let p = app
            .admin(
                "POST",
                &format!("/entries/article/{id}/publish"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(p.status, 200, "{:?}", p.body);
        let published = "query($id: ID) { article(id: $id) { id createdBy updatedBy } }";
        let (_, _, r) = app
            .graphql(
                Some(&demo.marrakech.public_token),
                published,
                json!({"id": id}),
            )
            .await;
        assert_eq!(r["data"]["article"]["id"], id.as_str(), "{r}");
        assert!(r["data"]["article"]["createdBy"].is_null(), "{r}");
        assert!(r["data"]["article"]["updatedBy"].is_null(), "{r}");
        let (_, _, r) = app
            .graphql(
                Some(&demo.marrakech.editor_token),
                published,
                json!({"id": id}),
            )
            .await;
        assert!(r["data"]["article"]["createdBy"].is_string(), "{r}");
    }
    Ok(())
}
