//! The content service on a real database (SQLite, and PostgreSQL when configured): field
//! rules, slugs, drafts and publishing, versions, conflicts, localisation, lists, the outbox,
//! tenant isolation and content-type changes. Bad input must leave the database unchanged.

mod common;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Map, Value, json};
use zellige::ErrorCode;
use zellige::content::types::ChangeOptions;
use zellige::content::{ContentError, EntryInput, Lookup, PageArgs, Status};
use zellige::store::entries::Stage;
use zellige::store::outbox;
use zellige_migrations::{Migrator, MigratorTrait};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("object expected"),
    }
}

fn input(v: Value) -> EntryInput {
    EntryInput {
        data: obj(v),
        ..Default::default()
    }
}

fn rules(e: &ContentError) -> Vec<(String, String)> {
    e.fields()
        .iter()
        .map(|f| (f.path.clone(), f.rule.clone()))
        .collect()
}

/// An entry's current draft data.
async fn draft(
    content: &zellige::content::Content,
    ctx: &zellige::tenancy::TenantCtx,
    entry_type: &str,
    id: &str,
) -> Value {
    let entry = content
        .get(ctx, entry_type, &Lookup::Id(id.to_owned()), Stage::Draft)
        .await
        .expect("get")
        .expect("entry");
    Value::Object(entry.data)
}

const TITLE: &str = "تنظيم لقاء إعلامي جهوي بمناسبة اليوم العالمي للتعاونيات";

#[tokio::test]
async fn every_field_rule_fails_clearly_and_changes_nothing() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let before = t.snapshot().await;
        let cases = [
            (
                "article",
                json!({"title": {"fr": "Sans arabe"}}),
                "title.ar",
                "required",
            ),
            (
                "article",
                json!({"title": {"ar": "x".repeat(301)}}),
                "title.ar",
                "maxLength",
            ),
            (
                "article",
                json!({"title": {"ar": "ع"}, "category": "sport"}),
                "category",
                "enum",
            ),
            (
                "article",
                json!({"title": {"ar": "ع"}, "colour": "red"}),
                "colour",
                "unknown",
            ),
            ("article", json!({"title": "ع"}), "title", "localized"),
            (
                "article",
                json!({"title": {"ar": "ع", "es": "x"}}),
                "title.es",
                "locale",
            ),
            (
                "article",
                json!({"title": {"ar": "ع"}, "relatedEvents": ["0190f000-0000-7000-8000-000000000000"]}),
                "relatedEvents[0]",
                "reference",
            ),
            (
                "event",
                json!({"title": {"ar": "معرض"}}),
                "startsAt",
                "required",
            ),
            (
                "event",
                json!({"title": {"ar": "معرض"}, "startsAt": "5 ديسمبر"}),
                "startsAt",
                "datetime",
            ),
            (
                "event",
                json!({"title": {"ar": "معرض"}, "startsAt": "2017-12-05T10:00:00Z", "allDay": "yes"}),
                "allDay",
                "type",
            ),
            (
                "event",
                json!({"title": {"ar": "معرض"}, "startsAt": "2017-12-05T10:00:00Z", "registrationUrl": "javascript:alert(1)"}),
                "registrationUrl",
                "url",
            ),
            (
                "event",
                json!({"title": {"ar": "معرض"}, "startsAt": "2017-12-05T10:00:00Z", "geo": {"lat": 91, "lng": 0}}),
                "geo",
                "geo",
            ),
            (
                "artisan",
                json!({"name": {"ar": "أحمد"}, "craft": "زليج", "city": "مراكش", "email": "ahmed@"}),
                "email",
                "email",
            ),
            (
                "artisan",
                json!({"name": {"ar": "أحمد"}, "craft": "زليج", "city": "مراكش", "phone": "call me"}),
                "phone",
                "phone",
            ),
            (
                "artisan",
                json!({"name": {"ar": "أحمد"}, "craft": "زليج"}),
                "city",
                "required",
            ),
            (
                "artisan",
                json!({"name": {"ar": "أحمد"}, "craft": "زليج", "city": "مراكش", "certifications": "one"}),
                "certifications",
                "type",
            ),
        ];
        for (ty, data, path, rule) in cases {
            let err = t
                .content
                .create(&ctx, ty, input(data.clone()), None)
                .await
                .expect_err("invalid input must fail");
            assert_eq!(err.code(), ErrorCode::BadUserInput, "{data}");
            assert!(
                rules(&err).contains(&(path.to_owned(), rule.to_owned())),
                "{ty} {data}: expected {path}/{rule}, got {:?}",
                rules(&err)
            );
        }
        assert_eq!(
            t.snapshot().await,
            before,
            "a rejected write must leave no trace"
        );
    });
}

#[tokio::test]
async fn slugs_are_arabic_unique_and_duplicates_conflict() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let a = t
            .content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": TITLE}})),
                None,
            )
            .await
            .expect("create");
        assert_eq!(
            a.slug,
            "تنظيم-لقاء-إعلامي-جهوي-بمناسبة-اليوم-العالمي-للتعاونيات"
        );
        let b = t
            .content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": TITLE}})),
                None,
            )
            .await
            .expect("create");
        assert_eq!(b.slug, format!("{}-2", a.slug));
        let before = t.snapshot().await;
        let dup = EntryInput {
            slug: Some(a.slug.clone()),
            ..input(json!({"title": {"ar": "عنوان آخر"}}))
        };
        let err = t
            .content
            .create(&ctx, "article", dup, None)
            .await
            .expect_err("duplicate slug");
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert_eq!(rules(&err), [("slug".to_owned(), "unique".to_owned())]);
        let bad = EntryInput {
            slug: Some("Not A Slug".into()),
            ..input(json!({"title": {"ar": "عنوان"}}))
        };
        let err = t
            .content
            .create(&ctx, "article", bad, None)
            .await
            .expect_err("bad slug");
        assert_eq!(rules(&err), [("slug".to_owned(), "pattern".to_owned())]);
        assert_eq!(t.snapshot().await, before);
        // Unique fields other than slug.
        let artisan = json!({"name": {"ar": "أحمد"}, "craft": "زليج", "city": "مراكش", "email": "ahmed@example.com"});
        t.content
            .create(&ctx, "artisan", input(artisan.clone()), None)
            .await
            .expect("first");
        let before = t.snapshot().await;
        let err = t
            .content
            .create(&ctx, "artisan", input(artisan), None)
            .await
            .expect_err("unique email");
        assert_eq!(rules(&err), [("email".to_owned(), "unique".to_owned())]);
        assert_eq!(t.snapshot().await, before);
    });
}

#[tokio::test]
async fn drafts_publish_versions_and_stale_updates() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let e = t.content.create(&ctx, "article", input(json!({"title": {"ar": "النسخة الأولى"}, "body": {"ar": "<p>نص<script>x()</script></p>"}})), Some("editor-1")).await.expect("create");
        assert_eq!((e.version, e.status), (1, Status::Draft));
        assert_eq!(
            e.data["body"]["ar"], "<p>نص</p>",
            "richtext is sanitized on write"
        );
        let by_id = Lookup::Id(e.id.clone());
        assert!(
            t.content
                .get(&ctx, "article", &by_id, Stage::Published)
                .await
                .expect("get")
                .is_none(),
            "drafts are not public"
        );

        let p = t
            .content
            .publish(&ctx, "article", &e.id, None)
            .await
            .expect("publish");
        assert_eq!((p.version, p.status), (2, Status::Published));
        let upd = EntryInput {
            locale: Some("ar".into()),
            ..input(json!({"title": "النسخة الثانية"}))
        };
        let d = t
            .content
            .update(&ctx, "article", &e.id, upd, Some(2), None)
            .await
            .expect("update");
        assert_eq!(d.version, 3);
        let public = t
            .content
            .get(&ctx, "article", &by_id, Stage::Published)
            .await
            .expect("get")
            .expect("published");
        assert_eq!(
            public.data["title"]["ar"], "النسخة الأولى",
            "readers keep the published version"
        );
        let draft = t
            .content
            .get(&ctx, "article", &by_id, Stage::Draft)
            .await
            .expect("get")
            .expect("draft");
        assert_eq!(draft.data["title"]["ar"], "النسخة الثانية");
        assert_eq!(draft.status, Status::Published);

        // A stale expectedVersion fails and changes nothing.
        let before = t.snapshot().await;
        let stale = EntryInput {
            locale: Some("ar".into()),
            ..input(json!({"title": "ضائع"}))
        };
        let err = t
            .content
            .update(&ctx, "article", &e.id, stale, Some(2), None)
            .await
            .expect_err("stale");
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert_eq!(
            rules(&err),
            [("expectedVersion".to_owned(), "stale".to_owned())]
        );
        assert_eq!(t.snapshot().await, before);

        t.content
            .publish(&ctx, "article", &e.id, None)
            .await
            .expect("publish again");
        let public = t
            .content
            .get(&ctx, "article", &by_id, Stage::Published)
            .await
            .expect("get")
            .expect("published");
        assert_eq!(public.data["title"]["ar"], "النسخة الثانية");

        let versions = t
            .content
            .versions(&ctx, "article", &e.id)
            .await
            .expect("versions");
        let actions: Vec<_> = versions
            .iter()
            .map(|v| (v.version, v.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            [(4, "publish"), (3, "update"), (2, "publish"), (1, "create")]
        );
        let restored = t
            .content
            .restore(&ctx, "article", &e.id, 1, None, None)
            .await
            .expect("restore");
        assert_eq!(
            (restored.version, restored.data["title"]["ar"].as_str()),
            (5, Some("النسخة الأولى"))
        );

        let un = t
            .content
            .unpublish(&ctx, "article", &e.id, None)
            .await
            .expect("unpublish");
        assert_eq!(un.status, Status::Draft);
        assert!(
            t.content
                .get(&ctx, "article", &by_id, Stage::Published)
                .await
                .expect("get")
                .is_none()
        );
        t.content
            .delete(&ctx, "article", &e.id, None)
            .await
            .expect("delete");
        assert!(
            t.content
                .get(&ctx, "article", &by_id, Stage::Draft)
                .await
                .expect("get")
                .is_none()
        );
        let err = t
            .content
            .delete(&ctx, "article", &e.id, None)
            .await
            .expect_err("gone");
        assert_eq!(err.code(), ErrorCode::NotFound);
    });
}

#[tokio::test]
async fn localized_reads_fall_back_to_the_default_locale() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let model = t.content.model(&ctx).await.expect("model");
        let ct = model.get("artisan").expect("artisan");
        let e = t.content.create(&ctx, "artisan", input(json!({"name": {"ar": "فاطمة الزهراء", "fr": "Fatima Zahra"}, "bio": {"ar": "<p>خزافة من آسفي</p>"}, "craft": "خزف", "city": "آسفي"})), None).await.expect("create");
        assert_eq!(e.available_locales, ["ar", "fr"]);
        let fr = e.to_localized_json(ct, "fr", "ar");
        assert_eq!(fr["name"], "Fatima Zahra");
        assert_eq!(
            fr["bio"], "<p>خزافة من آسفي</p>",
            "missing French falls back to Arabic"
        );
        assert_eq!(fr["locale"], "fr");
    });
}

async fn seed_artisans(
    t: &common::TestDb,
    ctx: &zellige::tenancy::TenantCtx,
    n: usize,
) -> Vec<(String, String, String, String)> {
    let crafts = ["زليج", "نحاس", "خزف", "دباغة"];
    let cities = ["مراكش", "آسفي", "الصويرة"];
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("حرفي {i:03}");
        let craft = crafts[i % crafts.len()];
        let city = cities[i % cities.len()];
        let e = t.content.create(ctx, "artisan", input(json!({"name": {"ar": name, "fr": format!("Artisan {i:03}")}, "craft": craft, "city": city})), None).await.expect("create");
        t.content
            .publish(ctx, "artisan", &e.id, None)
            .await
            .expect("publish");
        out.push((e.id, name, craft.to_owned(), city.to_owned()));
    }
    out
}

#[tokio::test]
async fn lists_filter_sort_and_paginate_with_stable_cursors() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let all = seed_artisans(&t, &ctx, 37).await;
        let mut expected: Vec<_> = all
            .iter()
            .filter(|a| a.2 == "زليج" || a.2 == "خزف")
            .filter(|a| a.3 != "الصويرة")
            .collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1));
        let args = PageArgs {
            filter: Some(
                json!({"craft": {"in": ["زليج", "خزف"]}, "NOT": {"city": {"eq": "الصويرة"}}}),
            ),
            order_by: vec![("name".into(), true)],
            first: Some(4),
            ..Default::default()
        };
        let (seen, cursors) = walk(&t, &ctx, &args).await;
        let want: Vec<_> = expected.iter().map(|a| a.0.clone()).collect();
        assert_eq!(seen, want);
        assert_eq!(
            t.content
                .count(&ctx, "artisan", &args, Stage::Published)
                .await
                .expect("count"),
            want.len() as i64
        );

        // Backwards from the end gives the same last page.
        let last = t
            .content
            .list(
                &ctx,
                "artisan",
                &PageArgs {
                    first: None,
                    last: Some(3),
                    ..args.clone()
                },
                Stage::Published,
            )
            .await
            .expect("last");
        let last_ids: Vec<_> = last.entries.iter().map(|(e, _)| e.id.clone()).collect();
        assert_eq!(last_ids, want[want.len() - 3..]);
        assert!(last.has_previous_page);

        // Sorting by a localized field follows the request locale.
        let fr = t
            .content
            .list(
                &ctx,
                "artisan",
                &PageArgs {
                    order_by: vec![("name".into(), false)],
                    locale: Some("fr".into()),
                    first: Some(2),
                    ..Default::default()
                },
                Stage::Published,
            )
            .await
            .expect("fr");
        assert_eq!(fr.entries[0].0.data["name"]["fr"], "Artisan 000");

        // Bad arguments.
        let err = t
            .content
            .list(
                &ctx,
                "artisan",
                &PageArgs {
                    first: Some(101),
                    ..Default::default()
                },
                Stage::Published,
            )
            .await
            .expect_err("page too big");
        assert_eq!(rules(&err), [("first".to_owned(), "max".to_owned())]);
        let err = t
            .content
            .list(
                &ctx,
                "artisan",
                &PageArgs {
                    after: Some("bm9wZQ".into()),
                    ..Default::default()
                },
                Stage::Published,
            )
            .await
            .expect_err("bad cursor");
        assert_eq!(rules(&err), [("after".to_owned(), "cursor".to_owned())]);
        let other_order = PageArgs {
            order_by: vec![("city".into(), false)],
            after: cursors.first().cloned(),
            ..Default::default()
        };
        assert!(
            t.content
                .list(&ctx, "artisan", &other_order, Stage::Published)
                .await
                .is_err(),
            "a cursor is tied to its order"
        );
        // Injection attempts are plain values.
        let inj = PageArgs {
            filter: Some(json!({"city": {"eq": "' OR 1=1 --"}, "slug": {"startsWith": "%"}})),
            ..Default::default()
        };
        assert!(
            t.content
                .list(&ctx, "artisan", &inj, Stage::Published)
                .await
                .expect("list")
                .entries
                .is_empty()
        );
    });
}

#[tokio::test]
async fn date_ranges_and_sorted_events() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        for (day, city) in [(2, "مراكش"), (5, "آسفي"), (12, "مراكش"), (28, "الصويرة")]
        {
            let e = t.content.create(&ctx, "event", input(json!({"title": {"ar": format!("نشاط {day}")}, "startsAt": format!("2017-12-{day:02}T10:00:00+01:00"), "city": city})), None).await.expect("event");
            t.content
                .publish(&ctx, "event", &e.id, None)
                .await
                .expect("publish");
        }
        let e = t
            .content
            .create(
                &ctx,
                "event",
                input(json!({"title": {"ar": "يناير"}, "startsAt": "2018-01-03T10:00:00Z"})),
                None,
            )
            .await
            .expect("event");
        t.content
            .publish(&ctx, "event", &e.id, None)
            .await
            .expect("publish");
        let args = PageArgs {
            filter: Some(
                json!({"startsAt": {"gte": "2017-12-01T00:00:00Z", "lt": "2018-01-01T00:00:00Z"}}),
            ),
            order_by: vec![("startsAt".into(), false)],
            ..Default::default()
        };
        let page = t
            .content
            .list(&ctx, "event", &args, Stage::Published)
            .await
            .expect("list");
        let titles: Vec<_> = page
            .entries
            .iter()
            .map(|(e, _)| {
                e.data["title"]["ar"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(titles, ["نشاط 2", "نشاط 5", "نشاط 12", "نشاط 28"]);
    });
}

/// Creates a draft and answers its id.
async fn create(
    t: &common::TestDb,
    ctx: &zellige::tenancy::TenantCtx,
    entry_type: &str,
    data: Value,
) -> String {
    let created = t.content.create(ctx, entry_type, input(data), None).await;
    created.expect("create").id
}

/// The values of an article field on the drafts sorted by it, in the order listed.
async fn values_in_order(
    t: &common::TestDb,
    ctx: &zellige::tenancy::TenantCtx,
    field: &str,
    descending: bool,
) -> Vec<Option<String>> {
    let args = PageArgs {
        order_by: vec![(field.into(), descending)],
        ..Default::default()
    };
    let page = t.content.list(ctx, "article", &args, Stage::Draft).await;
    page.expect("sorted")
        .entries
        .iter()
        .map(|(e, _)| e.data.get(field).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Only sortable fields keep an index row for no value: `isNull`, an empty string in a
/// filter, the empty group of an aggregate and a sort must still see the entries without one.
#[tokio::test]
async fn entries_without_a_value_are_found_grouped_and_sorted() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let event = create(
            &t,
            &ctx,
            "event",
            json!({"title": {"ar": "مَعْرِض الصناعة التقليدية"}, "startsAt": "2017-12-05T10:00:00Z"}),
        )
        .await;
        // (city: sortable, province: filterable only, relatedEvents: a reference)
        let rows = [
            json!({"title": {"ar": "لقاء إعلامي"}, "city": "مراكش", "province": "الحوز"}),
            json!({"title": {"ar": "دورة تكوينية"}}),
            json!({"title": {"ar": "زيارة ميدانية"}, "city": "آسفي", "relatedEvents": [event.clone()]}),
            json!({"title": {"ar": "يوم دراسي"}, "province": "الحوز"}),
        ];
        let mut ids = Vec::new();
        for data in rows {
            ids.push(create(&t, &ctx, "article", data).await);
        }
        let matching = |filter: Value| {
            let t = &t;
            let ctx = &ctx;
            async move {
                let args = PageArgs {
                    filter: Some(filter),
                    ..Default::default()
                };
                let page = t
                    .content
                    .list(ctx, "article", &args, Stage::Draft)
                    .await
                    .expect("list");
                let n = t
                    .content
                    .count(ctx, "article", &args, Stage::Draft)
                    .await
                    .expect("count");
                let mut got: Vec<String> = page.entries.into_iter().map(|(e, _)| e.id).collect();
                assert_eq!(n, got.len() as i64, "count and list agree");
                got.sort();
                got
            }
        };
        let some = |which: &[usize]| {
            let mut v: Vec<String> = which.iter().map(|&i| ids[i].clone()).collect();
            v.sort();
            v
        };
        let cases: [(Value, &[usize]); 12] = [
            (json!({"province": {"isNull": true}}), &[1, 2]),
            (json!({"province": {"isNull": false}}), &[0, 3]),
            (json!({"province": {"eq": ""}}), &[1, 2]),
            (json!({"province": {"ne": ""}}), &[0, 3]),
            (json!({"province": {"ne": "الحوز"}}), &[1, 2]),
            (json!({"province": {"in": ["", "الحوز"]}}), &[0, 1, 2, 3]),
            (json!({"province": {"notIn": [""]}}), &[0, 3]),
            (json!({"province": {"contains": ""}}), &[0, 1, 2, 3]),
            (json!({"city": {"isNull": true}}), &[1, 3]),
            (json!({"relatedEvents": {"isNull": true}}), &[0, 1, 3]),
            (json!({"relatedEvents": {"isNull": false}}), &[2]),
            (
                json!({"AND": [{"province": {"isNull": true}}, {"city": {"isNull": false}}]}),
                &[2],
            ),
        ];
        for (filter, want) in &cases {
            assert_eq!(matching(filter.clone()).await, some(want), "{filter}");
        }

        let groups = t
            .content
            .group_counts(
                &ctx,
                "article",
                &PageArgs::default(),
                Stage::Draft,
                &["province".into(), "city".into()],
            )
            .await
            .expect("groups");
        let mut got: Vec<(Vec<Option<String>>, i64)> =
            groups.into_iter().map(|g| (g.keys, g.count)).collect();
        got.sort();
        let key =
            |p: Option<&str>, c: Option<&str>| vec![p.map(str::to_owned), c.map(str::to_owned)];
        assert_eq!(
            got,
            [
                (key(None, None), 1),
                (key(None, Some("آسفي")), 1),
                (key(Some("الحوز"), None), 1),
                (key(Some("الحوز"), Some("مراكش")), 1),
            ]
        );

        // A sort walks the sortable field's rows: the entries without a city come first.
        let cities = values_in_order(&t, &ctx, "city", false).await;
        assert_eq!(
            cities,
            [
                None,
                None,
                Some("آسفي".to_owned()),
                Some("مراكش".to_owned())
            ]
        );

        // A database written by an earlier release holds an empty row for every indexed field
        // without a value: the migration keeps only the sortable fields' ones.
        let empty_rows = |field: &'static str| {
            let t = &t;
            async move {
                let empty =
                    format!("entry_fields WHERE type = 'article' AND field = '{field}' AND v = ''");
                t.count(&empty).await
            }
        };
        assert_eq!(
            (empty_rows("province").await, empty_rows("city").await),
            (0, 2)
        );
        for id in [&ids[1], &ids[2]] {
            t.db.execute_raw(Statement::from_string(
                t.db.get_database_backend(),
                format!(
                    "INSERT INTO entry_fields (tenant_id, entry_id, stage, type, field, locale, v) \
                     VALUES ('{}', '{id}', 0, 'article', 'province', '', '')",
                    ctx.id()
                ),
            ))
            .await
            .expect("an old empty row");
        }
        let old = matching(json!({"province": {"isNull": true}})).await;
        assert_eq!(
            old,
            some(&[1, 2]),
            "the queries read the rows of both releases"
        );
        Migrator::down(&t.db, Some(1)).await.expect("down");
        Migrator::up(&t.db, None).await.expect("up");
        assert_eq!(
            (empty_rows("province").await, empty_rows("city").await),
            (0, 2)
        );
        for (filter, want) in &cases {
            assert_eq!(matching(filter.clone()).await, some(want), "{filter}");
        }

        // Making a field sortable rebuilds the type's index rows: the entries without it get
        // their empty row, and a sort by it meets all of them.
        let mut article: Value =
            serde_json::from_str(include_str!("../../schema/content-types/article.json"))
                .expect("article.json");
        for field in article["fields"].as_array_mut().expect("fields") {
            if field["name"] == "province" {
                field["sortable"] = Value::Bool(true);
            }
        }
        t.content
            .update_type(&ctx, "article", article, &ChangeOptions::default(), None)
            .await
            .expect("province sortable");
        let ctx = t.ctx("marrakech-safi").await;
        assert_eq!(empty_rows("province").await, 2);
        let provinces = values_in_order(&t, &ctx, "province", true).await;
        assert_eq!(
            provinces,
            [
                Some("الحوز".to_owned()),
                Some("الحوز".to_owned()),
                None,
                None
            ]
        );
    });
}

#[tokio::test]
async fn filters_and_sorts_use_an_index() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        seed_artisans(&t, &ctx, 5).await;
        let cases = [
            (
                "artisan",
                PageArgs {
                    filter: Some(json!({"craft": {"eq": "زليج"}, "city": {"eq": "مراكش"}})),
                    order_by: vec![("name".into(), false)],
                    ..Default::default()
                },
            ),
            (
                "event",
                PageArgs {
                    filter: Some(
                        json!({"startsAt": {"gte": "2017-12-01T00:00:00Z", "lt": "2018-01-01T00:00:00Z"}}),
                    ),
                    order_by: vec![("startsAt".into(), false)],
                    ..Default::default()
                },
            ),
            (
                "article",
                PageArgs {
                    order_by: vec![("publishedAt".into(), true)],
                    ..Default::default()
                },
            ),
            (
                "article",
                PageArgs {
                    filter: Some(json!({"category": {"eq": "news"}})),
                    ..Default::default()
                },
            ),
        ];
        for (ty, args) in cases {
            let plan = t
                .content
                .explain_list(&ctx, ty, &args, Stage::Published)
                .await
                .expect("explain");
            eprintln!("{ty}: {plan}");
            match t.name {
                "sqlite" => {
                    assert!(plan.contains("INDEX"), "{ty}: {plan}");
                    assert!(
                        !plan.contains("TEMP B-TREE FOR ORDER BY"),
                        "{ty} sorts without an index: {plan}"
                    );
                    for line in plan.lines() {
                        assert!(
                            !line.starts_with("SCAN") || line.contains("INDEX"),
                            "{ty}: full scan: {plan}"
                        );
                    }
                }
                _ => {
                    assert!(plan.contains("Index"), "{ty}: {plan}");
                    assert!(!plan.contains("Seq Scan"), "{ty}: {plan}");
                }
            }
        }
    });
}

#[tokio::test]
async fn tenants_cannot_see_or_touch_each_other() {
    on_backends!(|t| {
        let a = t.tenant("marrakech-safi").await;
        let b = t.tenant("casablanca-settat").await;
        let secret = t
            .content
            .create(
                &b,
                "article",
                input(json!({"title": {"ar": "خبر الدار البيضاء"}, "city": "الدار البيضاء"})),
                None,
            )
            .await
            .expect("b");
        t.content
            .publish(&b, "article", &secret.id, None)
            .await
            .expect("publish");
        for stage in [Stage::Draft, Stage::Published] {
            assert!(
                t.content
                    .get(&a, "article", &Lookup::Id(secret.id.clone()), stage)
                    .await
                    .expect("get")
                    .is_none()
            );
            assert!(
                t.content
                    .get(&a, "article", &Lookup::Slug(secret.slug.clone()), stage)
                    .await
                    .expect("get")
                    .is_none()
            );
            let list = t
                .content
                .list(&a, "article", &PageArgs::default(), stage)
                .await
                .expect("list");
            assert!(list.entries.is_empty());
            assert!(
                t.content
                    .get_many(&a, std::slice::from_ref(&secret.id), stage)
                    .await
                    .expect("many")
                    .is_empty()
            );
        }
        let before = t.snapshot().await;
        assert_eq!(
            t.content
                .update(
                    &a,
                    "article",
                    &secret.id,
                    input(json!({"city": "مراكش"})),
                    None,
                    None
                )
                .await
                .expect_err("update")
                .code(),
            ErrorCode::NotFound
        );
        assert_eq!(
            t.content
                .publish(&a, "article", &secret.id, None)
                .await
                .expect_err("publish")
                .code(),
            ErrorCode::NotFound
        );
        assert_eq!(
            t.content
                .delete(&a, "article", &secret.id, None)
                .await
                .expect_err("delete")
                .code(),
            ErrorCode::NotFound
        );
        assert!(t.content.versions(&a, "article", &secret.id).await.is_err());
        // A reference across tenants is refused.
        let err = t.content.create(&a, "event", input(json!({"title": {"ar": "x"}, "startsAt": "2017-12-01T10:00:00Z", "relatedArticles": [secret.id]})), None).await.expect_err("cross-tenant reference");
        assert_eq!(
            rules(&err),
            [("relatedArticles[0]".to_owned(), "reference".to_owned())]
        );
        assert_eq!(t.snapshot().await, before);
        // Same slug in two tenants is fine.
        t.content
            .create(
                &a,
                "article",
                input(json!({"title": {"ar": "خبر الدار البيضاء"}})),
                None,
            )
            .await
            .expect("same slug in another tenant");
    });
}

#[tokio::test]
async fn outbox_numbers_events_per_tenant_in_commit_order() {
    on_backends!(|t| {
        let a = t.tenant("marrakech-safi").await;
        let b = t.tenant("casablanca-settat").await;
        let e = t
            .content
            .create(&a, "article", input(json!({"title": {"ar": "أ"}})), None)
            .await
            .expect("create");
        t.content
            .publish(&a, "article", &e.id, None)
            .await
            .expect("publish");
        t.content
            .create(&b, "article", input(json!({"title": {"ar": "ب"}})), None)
            .await
            .expect("create");
        t.content
            .delete(&a, "article", &e.id, None)
            .await
            .expect("delete");
        let events = outbox::read(&t.db, &a, 0, 100).await.expect("read");
        let kinds: Vec<_> = events
            .iter()
            .map(|e| (e.tenant_seq, e.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (1, "entry.created"),
                (2, "entry.published"),
                (3, "entry.deleted")
            ]
        );
        assert_eq!(
            outbox::read(&t.db, &b, 0, 100).await.expect("read").len(),
            1
        );
        // Two consumers keep their own positions; positions never go back.
        outbox::acknowledge(&t.db, "search", &a, 2, 0)
            .await
            .expect("ack");
        outbox::acknowledge(&t.db, "search", &a, 1, 0)
            .await
            .expect("ack");
        assert_eq!(outbox::position(&t.db, "search", &a).await.expect("pos"), 2);
        assert_eq!(
            outbox::position(&t.db, "webhooks", &a).await.expect("pos"),
            0
        );
        assert_eq!(
            outbox::read(&t.db, &a, 2, 100).await.expect("read").len(),
            1
        );
    });
}

#[tokio::test]
async fn content_type_changes_never_drop_data_silently() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let before = t.snapshot().await;
        let err = t
            .content
            .create_type(
                &ctx,
                json!({"name": "Shop", "plural": "shops", "fields": []}),
                None,
            )
            .await
            .expect_err("invalid");
        assert!(rules(&err).contains(&("name".into(), "pattern".into())));
        let err = t.content.create_type(&ctx, json!({"name": "shop", "plural": "articles", "fields": [{"name": "x", "type": "string"}]}), None).await.expect_err("clash");
        assert!(rules(&err).contains(&("plural".into(), "unique".into())));
        let err = t.content.create_type(&ctx, json!({"name": "shop", "plural": "shops", "fields": [{"name": "owner", "type": "reference", "to": "person"}]}), None).await.expect_err("dangling");
        assert!(rules(&err).contains(&("fields[0].to".into(), "exists".into())));
        assert_eq!(t.snapshot().await, before);

        let shop = json!({"name": "shop", "plural": "shops", "slugFrom": "label", "fields": [
            {"name": "label", "type": "string", "required": true, "maxLength": 100, "sortable": true},
            {"name": "note", "type": "text"},
            {"name": "rank", "type": "integer"}
        ]});
        t.content
            .create_type(&ctx, shop, None)
            .await
            .expect("create type");
        let ctx = t.ctx("marrakech-safi").await;
        let e = t
            .content
            .create(
                &ctx,
                "shop",
                input(json!({"label": "متجر الزليج", "note": "ملاحظة", "rank": 3})),
                None,
            )
            .await
            .expect("entry");

        // Removing a field that holds data is refused; nothing changes.
        let without_note = json!({"name": "shop", "plural": "shops", "slugFrom": "label", "fields": [
            {"name": "label", "type": "string", "required": true, "maxLength": 100, "sortable": true},
            {"name": "rank", "type": "integer"}
        ]});
        let before = t.snapshot().await;
        let err = t
            .content
            .update_type(
                &ctx,
                "shop",
                without_note.clone(),
                &ChangeOptions::default(),
                None,
            )
            .await
            .expect_err("data loss");
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert_eq!(rules(&err), [("note".to_owned(), "dataLoss".to_owned())]);
        assert_eq!(t.snapshot().await, before);

        // A rename moves the data; making a field localized wraps it in the default locale.
        let renamed = json!({"name": "shop", "plural": "shops", "slugFrom": "title", "fields": [
            {"name": "title", "type": "string", "required": true, "maxLength": 100, "sortable": true, "localized": true},
            {"name": "remark", "type": "text"},
            {"name": "rank", "type": "float", "filterable": true}
        ]});
        let opts = ChangeOptions {
            force: false,
            renames: [
                ("title".to_owned(), "label".to_owned()),
                ("remark".to_owned(), "note".to_owned()),
            ]
            .into(),
        };
        t.content
            .update_type(&ctx, "shop", renamed, &opts, None)
            .await
            .expect("rename");
        let ctx = t.ctx("marrakech-safi").await;
        let got = t
            .content
            .get(&ctx, "shop", &Lookup::Id(e.id.clone()), Stage::Draft)
            .await
            .expect("get")
            .expect("entry");
        assert_eq!(
            Value::Object(got.data.clone()),
            json!({"title": {"ar": "متجر الزليج"}, "remark": "ملاحظة", "rank": 3})
        );
        let page = t
            .content
            .list(
                &ctx,
                "shop",
                &PageArgs {
                    filter: Some(json!({"rank": {"gte": 3}})),
                    ..Default::default()
                },
                Stage::Draft,
            )
            .await
            .expect("newly filterable");
        assert_eq!(page.entries.len(), 1);

        // Forced removal drops the data, deliberately.
        let forced = json!({"name": "shop", "plural": "shops", "fields": [
            {"name": "title", "type": "string", "required": true, "maxLength": 100, "localized": true}
        ]});
        t.content
            .update_type(
                &ctx,
                "shop",
                forced,
                &ChangeOptions {
                    force: true,
                    ..Default::default()
                },
                None,
            )
            .await
            .expect("forced");
        let ctx = t.ctx("marrakech-safi").await;
        let got = t
            .content
            .get(&ctx, "shop", &Lookup::Id(e.id.clone()), Stage::Draft)
            .await
            .expect("get")
            .expect("entry");
        assert_eq!(
            Value::Object(got.data),
            json!({"title": {"ar": "متجر الزليج"}})
        );

        // Deleting a type with entries needs force; a referenced type cannot be deleted.
        assert_eq!(
            t.content
                .delete_type(&ctx, "shop", false, None)
                .await
                .expect_err("entries exist")
                .code(),
            ErrorCode::Conflict
        );
        assert_eq!(
            t.content
                .delete_type(&ctx, "event", true, None)
                .await
                .expect_err("referenced")
                .code(),
            ErrorCode::Conflict
        );
        t.content
            .delete_type(&ctx, "shop", true, None)
            .await
            .expect("forced delete");
        let ctx = t.ctx("marrakech-safi").await;
        assert!(
            t.content
                .types(&ctx)
                .await
                .expect("types")
                .iter()
                .all(|c| c.name != "shop")
        );
    });
}

#[tokio::test]
async fn type_changes_judge_stored_values_and_carry_the_history() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let shop = json!({"name": "shop", "plural": "shops", "slugFrom": "label", "fields": [
            {"name": "label", "type": "string", "required": true, "maxLength": 100},
            {"name": "note", "type": "text"},
            {"name": "craft", "type": "string", "localized": true}
        ]});
        t.content
            .create_type(&ctx, shop, None)
            .await
            .expect("create type");
        let ctx = t.ctx("marrakech-safi").await;
        let long_note = "ورشة الزليج الفاسي بالمدينة العتيقة";
        let long = t
            .content
            .create(
                &ctx,
                "shop",
                input(json!({"label": "ورشة", "note": long_note, "craft": {"ar": "زليج", "fr": "Zellige"}})),
                None,
            )
            .await
            .expect("long");
        let short = t
            .content
            .create(
                &ctx,
                "shop",
                input(json!({"label": "دكان", "note": "فاس", "craft": {"ar": "نحاس"}})),
                None,
            )
            .await
            .expect("short");
        // Version 2 of `short`, so the history holds a version from before the change.
        t.content
            .update(
                &ctx,
                "shop",
                &short.id,
                input(json!({"note": "مكناس"})),
                None,
                None,
            )
            .await
            .expect("edit");
        let seq = outbox::read(&t.db, &ctx, 0, 1000)
            .await
            .expect("outbox")
            .last()
            .map(|e| e.tenant_seq)
            .unwrap_or(0);

        // `text → string` with a shorter maxLength, and localized → plain: judged by the
        // values. The long note and the French craft would be lost: refused, naming the
        // entries, and nothing changes.
        let tighter = json!({"name": "shop", "plural": "shops", "slugFrom": "label", "fields": [
            {"name": "label", "type": "string", "required": true, "maxLength": 100},
            {"name": "note", "type": "string", "maxLength": 10},
            {"name": "craft", "type": "string"}
        ]});
        let before = t.snapshot().await;
        let err = t
            .content
            .update_type(
                &ctx,
                "shop",
                tighter.clone(),
                &ChangeOptions::default(),
                None,
            )
            .await
            .expect_err("data loss");
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert_eq!(
            rules(&err),
            [
                ("craft".to_owned(), "dataLoss".to_owned()),
                ("note".to_owned(), "dataLoss".to_owned())
            ]
        );
        for f in err.fields() {
            let loss = f.loss.as_ref().expect("loss details");
            assert_eq!(loss.entries, 1, "{f:?}");
            assert_eq!(loss.sample, vec![long.id.as_str()]);
            assert!(f.message.contains("1 entries"), "{}", f.message);
        }
        assert!(err.fields()[1].loss.as_ref().expect("loss").reasons[0].contains("maxLength"));
        assert_eq!(t.snapshot().await, before);

        // Tightening a rule on the same kind is judged the same way.
        let same_kind = json!({"name": "shop", "plural": "shops", "slugFrom": "label", "fields": [
            {"name": "label", "type": "string", "required": true, "maxLength": 3},
            {"name": "note", "type": "text"},
            {"name": "craft", "type": "string", "localized": true}
        ]});
        let err = t
            .content
            .update_type(&ctx, "shop", same_kind, &ChangeOptions::default(), None)
            .await
            .expect_err("shorter label");
        assert_eq!(rules(&err), [("label".to_owned(), "dataLoss".to_owned())]);
        assert_eq!(err.fields()[0].loss.as_ref().expect("loss").entries, 2);
        assert_eq!(t.snapshot().await, before);

        // Forced, it drops exactly what was refused and keeps the rest.
        t.content
            .update_type(
                &ctx,
                "shop",
                tighter,
                &ChangeOptions {
                    force: true,
                    ..Default::default()
                },
                None,
            )
            .await
            .expect("forced");
        let ctx = t.ctx("marrakech-safi").await;
        assert_eq!(
            draft(&t.content, &ctx, "shop", &long.id).await,
            json!({"label": "ورشة", "craft": "زليج"})
        );
        assert_eq!(
            draft(&t.content, &ctx, "shop", &short.id).await,
            json!({"label": "دكان", "note": "مكناس", "craft": "نحاس"})
        );
        // Each rewritten entry has an `entry.updated` event, before the type's own.
        let events = outbox::read(&t.db, &ctx, seq, 1000).await.expect("outbox");
        let kinds: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.entry_id.as_deref()))
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert_eq!(kinds[2], ("content_type.changed", None));
        let mut updated: Vec<&str> = kinds[..2]
            .iter()
            .map(|(k, id)| {
                assert_eq!(*k, "entry.updated");
                id.unwrap_or_default()
            })
            .collect();
        updated.sort_unstable();
        let mut expected = [long.id.as_str(), short.id.as_str()];
        expected.sort_unstable();
        assert_eq!(updated, expected);
        assert_eq!(events[0].payload["cause"], "content_type.changed");

        // A rename moves the history too: restoring version 1 of `short` (written as `note`)
        // brings its value back under the new name.
        let renamed = json!({"name": "shop", "plural": "shops", "slugFrom": "label", "fields": [
            {"name": "label", "type": "string", "required": true, "maxLength": 100},
            {"name": "remark", "type": "string", "maxLength": 10},
            {"name": "craft", "type": "string"}
        ]});
        t.content
            .update_type(
                &ctx,
                "shop",
                renamed,
                &ChangeOptions {
                    force: false,
                    renames: [("remark".to_owned(), "note".to_owned())].into(),
                },
                None,
            )
            .await
            .expect("rename");
        let ctx = t.ctx("marrakech-safi").await;
        let history = t
            .content
            .versions(&ctx, "shop", &short.id)
            .await
            .expect("versions");
        assert!(
            history.iter().all(|v| !v.data.contains_key("note")),
            "{history:?}"
        );
        t.content
            .restore(&ctx, "shop", &short.id, 1, None, None)
            .await
            .expect("restore");
        assert_eq!(
            draft(&t.content, &ctx, "shop", &short.id).await,
            json!({"label": "دكان", "remark": "فاس", "craft": "نحاس"})
        );
        // The forced change dropped the long note from the document; the history keeps it
        // (under its new name), so an editor can still find it and shorten it.
        let long_history = t
            .content
            .versions(&ctx, "shop", &long.id)
            .await
            .expect("versions");
        assert_eq!(
            long_history.last().expect("v1").data.get("remark"),
            Some(&json!(long_note))
        );
    });
}

#[tokio::test]
async fn import_derives_unique_slugs_across_db_and_batch() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let first = t
            .content
            .create(
                &ctx,
                "article",
                input(json!({"title": {"ar": TITLE}})),
                None,
            )
            .await
            .expect("create");
        let line = |slug: Option<&str>| zellige::content::transfer::EntryLine {
            entry_type: "article".into(),
            id: None,
            slug: slug.map(str::to_owned),
            status: Status::Published,
            version: None,
            created_at: None,
            updated_at: None,
            published_at: None,
            created_by: None,
            updated_by: None,
            locales: vec![],
            fields: obj(json!({"title": {"ar": TITLE}})),
            published: None,
        };
        let lines = vec![
            (1, line(None)),
            (2, line(None)),
            (3, line(Some("مقال-جديد"))),
        ];
        t.content
            .import_batch(&ctx, lines, &Default::default())
            .await
            .expect("import");
        let page = t
            .content
            .list(
                &ctx,
                "article",
                &PageArgs {
                    first: Some(10),
                    ..Default::default()
                },
                Stage::Draft,
            )
            .await
            .expect("list");
        let mut slugs: Vec<String> = page.entries.iter().map(|(e, _)| e.slug.clone()).collect();
        slugs.sort();
        let mut want = vec![
            first.slug.clone(),
            format!("{}-2", first.slug),
            format!("{}-3", first.slug),
            "مقال-جديد".to_owned(),
        ];
        want.sort();
        assert_eq!(slugs, want);
        let artisan = |email: &str| zellige::content::transfer::EntryLine {
            entry_type: "artisan".into(),
            fields: obj(
                json!({"name": {"ar": "حرفي"}, "craft": "زليج", "city": "مراكش", "email": email}),
            ),
            ..line(None)
        };
        let before = t.snapshot().await;
        let err = t
            .content
            .import_batch(
                &ctx,
                vec![(1, artisan("a@example.com")), (2, artisan("a@example.com"))],
                &Default::default(),
            )
            .await
            .expect_err("duplicate in batch");
        assert_eq!((err.line, err.error.code()), (2, ErrorCode::Conflict));
        assert_eq!(t.snapshot().await, before, "the failed batch left nothing");
        let dup = vec![(1, line(Some("مقال-جديد")))];
        let err = t
            .content
            .import_batch(&ctx, dup, &Default::default())
            .await
            .expect_err("taken slug");
        assert_eq!(err.line, 1);
        assert_eq!(err.error.code(), ErrorCode::Conflict);
    });
}

/// Every page of a list, walked with `after` cursors, as ids; and the cursors.
async fn walk(
    t: &common::TestDb,
    ctx: &zellige::tenancy::TenantCtx,
    args: &PageArgs,
) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut cursors) = (Vec::new(), Vec::new());
    let mut after = None;
    let list = |after: Option<String>, without_page_info: bool| {
        let args = PageArgs {
            after,
            without_page_info,
            ..args.clone()
        };
        async move {
            t.content
                .list(ctx, "artisan", &args, Stage::Published)
                .await
                .expect("list")
        }
    };
    loop {
        let page = list(after.clone(), false).await;
        // Without `pageInfo` the row past the page is not read: the same entries and cursors.
        let bare = list(after.clone(), true).await;
        let key = |p: &zellige::content::entries::Page| -> Vec<(String, String)> {
            p.entries
                .iter()
                .map(|(e, c)| (e.id.clone(), c.encode()))
                .collect()
        };
        assert_eq!(key(&bare), key(&page));
        for (e, c) in &page.entries {
            ids.push(e.id.clone());
            cursors.push(c.encode());
        }
        assert_eq!(page.has_previous_page, after.is_some());
        if !page.has_next_page {
            return (ids, cursors);
        }
        after = page.entries.last().map(|(_, c)| c.encode());
    }
}

#[tokio::test]
async fn compound_index_pages_equal_the_plain_ones() {
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        // Names with diacritics, alef forms and ta marbuta; some without a French name (French
        // readers then see, and sort by, the Arabic one).
        let names = [
            "أحمد",
            "إدريس",
            "آمنة",
            "احمد",
            "فاطِمة",
            "فاطمة",
            "زليخة",
            "عائشة",
            "مُحمّد",
            "يوسف",
        ];
        let crafts = ["زليج", "نحاس"];
        let cities = ["مراكش", "آسفي"];
        for i in 0..48 {
            let name = format!("{} {}", names[i % names.len()], i % 7);
            let mut data = json!({"name": {"ar": name}, "craft": crafts[i % 2], "city": cities[(i / 2) % 2], "province": if i % 3 == 0 { "الحوز" } else { "آسفي" }});
            if i % 4 != 0 {
                data["name"]["fr"] = json!(format!("Artisan {}", 47 - i));
            }
            let e = t
                .content
                .create(&ctx, "artisan", input(data), None)
                .await
                .expect("create");
            t.content
                .publish(&ctx, "artisan", &e.id, None)
                .await
                .expect("publish");
        }
        let lists = |locale: &str, desc: bool, extra: bool| PageArgs {
            filter: Some(if extra {
                json!({"city": {"eq": "مراكش"}, "craft": {"eq": "زليج"}, "province": {"eq": "الحوز"}})
            } else {
                json!({"craft": {"eq": "زليج"}, "city": {"eq": "مراكش"}})
            }),
            order_by: vec![("name".into(), desc)],
            first: Some(3),
            locale: Some(locale.into()),
            ..Default::default()
        };
        let mut cases = Vec::new();
        for locale in ["ar", "fr"] {
            for desc in [false, true] {
                for extra in [false, true] {
                    cases.push(lists(locale, desc, extra));
                }
            }
        }
        let plan = t
            .content
            .explain_list(&ctx, "artisan", &cases[0], Stage::Published)
            .await
            .expect("explain");
        // One range of the compound index, no filter lists (the plans at 100,000 entries are
        // asserted in `store_plans.rs`).
        match t.name {
            "sqlite" => assert!(
                plan.contains("v>? AND v<?") && !plan.contains("LIST SUBQUERY"),
                "{plan}"
            ),
            _ => assert!(plan.contains("craft+city+name"), "{plan}"),
        }
        let mut with_index = Vec::new();
        for args in &cases {
            let (ids, cursors) = walk(&t, &ctx, args).await;
            let count = t
                .content
                .count(&ctx, "artisan", args, Stage::Published)
                .await
                .expect("count");
            assert_eq!(count, ids.len() as i64);
            assert!(!ids.is_empty());
            // Backwards from the end: the same last page.
            let last = t
                .content
                .list(
                    &ctx,
                    "artisan",
                    &PageArgs {
                        first: None,
                        last: Some(2),
                        ..args.clone()
                    },
                    Stage::Published,
                )
                .await
                .expect("last");
            let last: Vec<_> = last.entries.into_iter().map(|(e, _)| e.id).collect();
            assert_eq!(last, ids[ids.len().saturating_sub(2)..]);
            with_index.push((ids, cursors));
        }

        // The same lists without the compound index (its rows go with it).
        let mut def = t
            .content
            .model(&ctx)
            .await
            .expect("model")
            .get("artisan")
            .expect("artisan")
            .to_json();
        def.as_object_mut().expect("object").remove("indexes");
        t.content
            .update_type(&ctx, "artisan", def, &ChangeOptions::default(), None)
            .await
            .expect("drop the index");
        for (args, (ids, cursors)) in cases.iter().zip(&with_index) {
            let (plain, plain_cursors) = walk(&t, &ctx, args).await;
            assert_eq!(&plain, ids, "{args:?}");
            // Cursors do not depend on the index: one from the indexed list continues here.
            assert_eq!(&plain_cursors, cursors);
            assert_eq!(
                t.content
                    .count(&ctx, "artisan", args, Stage::Published)
                    .await
                    .expect("count"),
                ids.len() as i64
            );
        }
        // In Arabic, the order is the order of the stored names (byte order).
        let (ids, _) = walk(&t, &ctx, &cases[0]).await;
        let mut names = Vec::new();
        for id in &ids {
            let e = t
                .content
                .get(&ctx, "artisan", &Lookup::Id(id.clone()), Stage::Published)
                .await
                .expect("get")
                .expect("entry");
            names.push(e.data["name"]["ar"].as_str().unwrap_or_default().to_owned());
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    });
}

/// A batch of creates is checked in order against the database and the creates before it
/// (unique values, requested slugs), a refused create writes nothing, and each accepted one
/// has exactly its document, version, outbox event and audit row. A write of another kind in
/// the middle is seen by the creates after it.
/// An entry a create answered is stored as answered, with one version: its creation.
async fn assert_created_once(
    t: &common::TestDb,
    ctx: &zellige::tenancy::TenantCtx,
    entry_type: &str,
    e: &zellige::content::Entry,
) {
    let stored = t
        .content
        .get(ctx, entry_type, &Lookup::Id(e.id.clone()), Stage::Draft)
        .await
        .expect("read")
        .expect("an accepted create is stored");
    assert_eq!(stored.data, e.data, "{}", t.name);
    assert_eq!(stored.slug, e.slug, "{}", t.name);
    let versions = t
        .content
        .versions(ctx, entry_type, &e.id)
        .await
        .expect("versions");
    assert_eq!(versions.len(), 1, "{}: one version per create", t.name);
    assert_eq!(versions[0].action, "create", "{}", t.name);
}

#[tokio::test]
async fn a_batch_of_creates_checks_each_against_the_ones_before_it() {
    use zellige::content::BatchWrite;
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        t.content
            .create_type(
                &ctx,
                json!({"name": "licence", "plural": "licences", "slugFrom": "code", "fields": [
                    {"name": "code", "type": "string", "required": true, "unique": true, "maxLength": 40},
                    {"name": "holder", "type": "string", "maxLength": 80}
                ]}),
                None,
            )
            .await
            .expect("type");
        let ctx = t.ctx("marrakech-safi").await;
        let existing = t
            .content
            .create(&ctx, "licence", input(json!({"code": "MRK-001"})), None)
            .await
            .expect("existing");
        let before = outbox::read(&t.db, &ctx, 0, 1000)
            .await
            .expect("read")
            .len();
        let taken_slug = zellige::content::slug::slugify("ASF-001");
        let create = |v: Value| BatchWrite::Create(input(v));
        let writes = vec![
            create(json!({"code": "ASF-001", "holder": "محمد الزليجي"})),
            create(json!({"code": "MRK-001"})),
            create(json!({"code": "ASF-001"})),
            create(json!({"holder": "بلا رقم"})),
            BatchWrite::Create(EntryInput {
                slug: Some(taken_slug.clone()),
                ..input(json!({"code": "ASF-002"}))
            }),
            BatchWrite::Update {
                id: existing.id.clone(),
                input: input(json!({"code": "MRK-001-B"})),
                expected_version: Some(1),
            },
            create(json!({"code": "SAF-003"})),
            create(json!({"code": "MRK-001"})),
        ];
        let results = t
            .content
            .write_batch(&ctx, "licence", writes, Some("user:editor"))
            .await
            .expect("batch");
        let code = |r: &Result<Option<zellige::content::Entry>, ContentError>| match r {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("{:?} {:?}", e.code(), rules(e)),
        };
        let codes: Vec<String> = results.iter().map(code).collect();
        assert_eq!(
            codes,
            [
                "ok".to_owned(),
                r#"Conflict [("code", "unique")]"#.to_owned(),
                r#"Conflict [("code", "unique")]"#.to_owned(),
                r#"BadUserInput [("code", "required")]"#.to_owned(),
                r#"Conflict [("slug", "unique")]"#.to_owned(),
                "ok".to_owned(),
                "ok".to_owned(),
                "ok".to_owned(),
            ],
            "{}",
            t.name
        );
        let first = results[0].as_ref().expect("ok").as_ref().expect("entry");
        assert_eq!(first.slug, taken_slug);
        assert_eq!(first.created_by.as_deref(), Some("user:editor"));
        // Exactly the accepted writes are stored, each with its history and events.
        let page = t
            .content
            .list(&ctx, "licence", &PageArgs::default(), Stage::Draft)
            .await
            .expect("list");
        let mut stored: Vec<String> = page
            .entries
            .iter()
            .map(|(e, _)| e.data["code"].as_str().unwrap_or("").to_owned())
            .collect();
        stored.sort();
        assert_eq!(stored, ["ASF-001", "MRK-001", "MRK-001-B", "SAF-003"]);
        for r in [&results[0], &results[6], &results[7]] {
            let e = r.as_ref().expect("ok").as_ref().expect("entry");
            assert_created_once(&t, &ctx, "licence", e).await;
        }
        let events = outbox::read(&t.db, &ctx, 0, 1000).await.expect("read");
        let kinds: Vec<&str> = events[before..].iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "entry.created",
                "entry.updated",
                "entry.created",
                "entry.created"
            ],
            "{}",
            t.name
        );
        let audit = zellige::audit::list(&t.db, &ctx, None, Some("entry.created"), 100)
            .await
            .expect("audit");
        let by_editor: Vec<&str> = audit
            .iter()
            .filter(|a| a.actor == "user:editor")
            .map(|a| a.target.as_str())
            .collect();
        assert_eq!(by_editor.len(), 3, "{by_editor:?}");
        for r in [&results[0], &results[6], &results[7]] {
            let e = r.as_ref().expect("ok").as_ref().expect("entry");
            assert!(by_editor.contains(&format!("licence/{}", e.id).as_str()));
        }
    });
}

/// A run of creates is written with one statement per table; when one of those statements
/// fails (here a trigger refuses one row, as a full disk or a constraint added behind our back
/// would), the run is undone and its creates go one by one: the others are still written, once,
/// with their events and history, and the refused one leaves nothing behind.
#[tokio::test]
async fn a_failed_statement_in_a_run_of_creates_retries_them_one_by_one() {
    use sea_orm::ConnectionTrait;
    use zellige::content::BatchWrite;
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        t.content
            .create_type(
                &ctx,
                json!({"name": "notice", "plural": "notices", "slugFrom": "title", "fields": [
                    {"name": "title", "type": "string", "required": true, "maxLength": 120}
                ]}),
                None,
            )
            .await
            .expect("type");
        let ctx = t.ctx("marrakech-safi").await;
        let trigger = if t.name == "postgres" {
            vec![
                "CREATE FUNCTION zt_refuse() RETURNS trigger AS $$ BEGIN \
                 IF NEW.data LIKE '%مرفوض%' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER zt_refuse BEFORE INSERT ON entry_docs \
                 FOR EACH ROW EXECUTE FUNCTION zt_refuse()",
            ]
        } else {
            vec![
                "CREATE TRIGGER zt_refuse BEFORE INSERT ON entry_docs \
                 WHEN NEW.data LIKE '%مرفوض%' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END",
            ]
        };
        for sql in trigger {
            t.db.execute_unprepared(sql).await.expect("trigger");
        }
        let before = outbox::read(&t.db, &ctx, 0, 10_000)
            .await
            .expect("read")
            .len();
        let create = |title: &str| BatchWrite::Create(input(json!({"title": title})));
        let writes = vec![
            create("افتتاح معرض الصناعة التقليدية"),
            create("خبر مرفوض"),
            create("تكوين الحرفيين في الزليج"),
        ];
        let results = t
            .content
            .write_batch(&ctx, "notice", writes, Some("user:editor"))
            .await
            .expect("the batch itself is answered");
        assert_eq!(results.len(), 3, "{}", t.name);
        let refused = results[1].as_ref().expect_err("the refused create fails");
        assert_eq!(
            refused.code(),
            ErrorCode::Internal,
            "{}: {refused:?}",
            t.name
        );
        let mut written = Vec::new();
        for r in [&results[0], &results[2]] {
            let e = r
                .as_ref()
                .unwrap_or_else(|e| panic!("{}: the other creates succeed: {e:?}", t.name))
                .as_ref()
                .expect("entry");
            assert_created_once(&t, &ctx, "notice", e).await;
            written.push(e.id.clone());
        }
        let events = outbox::read(&t.db, &ctx, 0, 10_000).await.expect("read");
        let created: Vec<&str> = events[before..]
            .iter()
            .map(|e| e.entry_id.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(created, written, "{}: one event per written create", t.name);
        let refused_rows =
            t.db.query_one_raw(sea_orm::Statement::from_string(
                t.db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM entry_docs WHERE data LIKE '%مرفوض%'",
            ))
            .await
            .expect("count")
            .expect("row")
            .try_get::<i64>("", "n")
            .expect("n");
        assert_eq!(
            refused_rows, 0,
            "{}: the refused create left nothing",
            t.name
        );

        // Single creates sent together share a group commit, written without the run's
        // savepoint; the failed statement rolls the group back and it is applied again.
        let titles = [
            "نقش على الخشب",
            "خبر مرفوض ثان",
            "دباغة الجلود بفاس",
            "صناعة الفخار بآسفي",
        ];
        let results = futures::future::join_all(titles.iter().map(|title| {
            t.content
                .create(&ctx, "notice", input(json!({ "title": title })), None)
        }))
        .await;
        let outcome: Vec<bool> = results.iter().map(Result::is_ok).collect();
        assert_eq!(
            outcome,
            [true, false, true, true],
            "{}: {results:?}",
            t.name
        );
        for e in results.iter().filter_map(|r| r.as_ref().ok()) {
            assert_created_once(&t, &ctx, "notice", e).await;
        }
        let events = outbox::read(&t.db, &ctx, 0, 10_000).await.expect("read");
        for e in results.iter().filter_map(|r| r.as_ref().ok()) {
            let n = events
                .iter()
                .filter(|ev| ev.entry_id.as_deref() == Some(e.id.as_str()))
                .count();
            assert_eq!(n, 1, "{}: one event for {}", t.name, e.id);
        }
    });
}

/// A long import keeps PostgreSQL's planner statistics in step with the tables it fills: the
/// first refresh comes after 2,000 entries, not only at the end (SQLite needs none).
#[tokio::test]
async fn a_growing_import_refreshes_postgres_statistics() {
    use sea_orm::ConnectionTrait;
    let Some(t) = common::postgres().await else {
        return;
    };
    let ctx = t.tenant("marrakech-safi").await;
    let reltuples = || async {
        t.db.query_one_raw(sea_orm::Statement::from_string(
            t.db.get_database_backend(),
            "SELECT reltuples::bigint AS n FROM pg_class WHERE relname = 'entry_docs'",
        ))
        .await
        .expect("pg_class")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n")
    };
    let mut schedule = zellige::content::transfer::ImportStatistics::default();
    let lines = zellige::demo::synthetic(1_200, 400, 1_000);
    let mut numbered = lines.into_iter().enumerate().map(|(i, l)| (i + 1, l));
    let mut imported = 0u64;
    let mut seen_before_2000 = None;
    loop {
        let chunk: Vec<_> = numbered.by_ref().take(500).collect();
        if chunk.is_empty() {
            break;
        }
        let stats = t
            .content
            .import_batch(&ctx, chunk, &Default::default())
            .await
            .expect("import");
        imported += stats.created;
        if imported < 2_000 {
            seen_before_2000 = Some(reltuples().await);
        }
        t.content
            .analyze_as_import_grows(&mut schedule, stats.created)
            .await
            .expect("analyze");
    }
    assert_eq!(imported, 2_600);
    // Never analyzed (-1) or an autovacuum estimate while the import was below the threshold;
    // afterwards the statistics count at least the 2,000 entries imported by then.
    assert!(
        seen_before_2000.is_some_and(|n| n < 2_000),
        "{seen_before_2000:?}"
    );
    assert!(reltuples().await >= 2_000, "{}", reltuples().await);
}

/// Events keep their order, numbers, missing entries and payloads exactly, on both databases
/// (PostgreSQL reserves the numbers and inserts the rows in one statement).
#[tokio::test]
async fn outbox_events_round_trip_in_order() {
    use outbox::{EventKind, NewEvent};
    use sea_orm::TransactionTrait;
    on_backends!(|t| {
        let ctx = t.tenant("marrakech-safi").await;
        let before = outbox::read(&t.db, &ctx, 0, 10_000).await.expect("read");
        let last = before.last().map_or(0, |e| e.tenant_seq);
        let payload = json!({"title": {"ar": "مَعْرِضُ الصِّناعَةِ التَّقْلِيدِيَّة", "fr": "Salon \"l'artisanat\"\n"}, "n": [1, null, 2.5]});
        let events = vec![
            NewEvent {
                kind: EventKind::EntryCreated,
                entry_type: Some("article".into()),
                entry_id: Some("e-1".into()),
                payload: payload.clone(),
            },
            NewEvent {
                kind: EventKind::PluginChanged,
                entry_type: None,
                entry_id: None,
                payload: json!({"plugin": "calendar"}),
            },
            NewEvent {
                kind: EventKind::EntryDeleted,
                entry_type: Some("article".into()),
                entry_id: Some("e-1".into()),
                payload: Value::Null,
            },
        ];
        let txn = t.db.begin().await.expect("begin");
        outbox::record(&txn, &ctx, events, 1_700_000_000_000)
            .await
            .expect("record");
        txn.commit().await.expect("commit");
        let after = outbox::read(&t.db, &ctx, last, 10).await.expect("read");
        let got: Vec<Value> = after
            .iter()
            .map(|e| {
                json!([
                    e.tenant_seq,
                    e.kind,
                    e.entry_type,
                    e.entry_id,
                    e.payload,
                    e.created_at
                ])
            })
            .collect();
        let at = 1_700_000_000_000_i64;
        assert_eq!(
            got,
            vec![
                json!([last + 1, "entry.created", "article", "e-1", payload, at]),
                json!([last + 2, "plugin.changed", null, null, {"plugin": "calendar"}, at]),
                json!([last + 3, "entry.deleted", "article", "e-1", null, at]),
            ],
            "{}",
            t.name
        );
    });
}
