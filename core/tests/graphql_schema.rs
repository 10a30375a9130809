//! The SDL of the built-in content types is kept in `schema/schema.graphql`; this test fails
//! when the generated schema changes without that file being updated
//! (`ZELLIGE_UPDATE_SNAPSHOTS=1 cargo test -p zellige --test graphql_schema` rewrites it).

use zellige::content::TenantModel;
use zellige::content::model::builtin_types;
use zellige::graphql::builder::{GraphqlLimits, build_schema};

#[test]
fn builtin_sdl_matches_the_snapshot() {
    let model = TenantModel {
        schema_version: 1,
        types: builtin_types(),
    };
    let sdl = build_schema(&model, &GraphqlLimits::default())
        .expect("schema builds")
        .sdl();
    let path = format!("{}/../schema/schema.graphql", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("ZELLIGE_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &sdl).expect("write snapshot");
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == sdl,
        "schema/schema.graphql is out of date; review the change and rerun with ZELLIGE_UPDATE_SNAPSHOTS=1"
    );
    for expected in [
        "type Article implements Entry",
        "articles(where: ArticleWhere, orderBy: [ArticleOrderBy!], first: Int, after: String, last: Int, before: String, locale: String, status: Status = PUBLISHED): ArticleConnection!",
        "article(id: ID, slug: String, locale: String, status: Status = PUBLISHED): Article",
        "createArticle(data: ArticleCreateInput!, locale: String, publish: Boolean, publishedAt: DateTime): Article!",
        "updateArticle(id: ID!, data: ArticleUpdateInput!, locale: String, expectedVersion: Int, publish: Boolean, publishedAt: DateTime): Article!",
        "publishArticle(id: ID!, publishedAt: DateTime): Article!",
        "deleteArticle(id: ID!): ID!",
        "interface Entry",
        "scalar DateTime",
    ] {
        assert!(sdl.contains(expected), "missing `{expected}`");
    }
}

#[test]
fn every_tenant_type_gets_its_artefacts() {
    let mut types = builtin_types();
    types.push(zellige::content::ContentType::from_json(serde_json::json!({"name": "newsItem", "plural": "newsItems", "fields": [{"name": "headline", "type": "string"}]})).expect("type"));
    let sdl = build_schema(
        &TenantModel {
            schema_version: 2,
            types,
        },
        &GraphqlLimits::default(),
    )
    .expect("schema")
    .sdl();
    for expected in [
        "type NewsItem implements Entry",
        "newsItems(",
        "input NewsItemWhere",
        "publishNewsItem(id: ID!): NewsItem!",
    ] {
        assert!(sdl.contains(expected), "missing `{expected}`");
    }
}
