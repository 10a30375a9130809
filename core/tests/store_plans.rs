//! The database plans of the public list queries at 100,000 entries in one tenant, on SQLite
//! and PostgreSQL: each must read one index range in order and stop after a page, with no
//! sort of the matches and no materialised filter lists, so its cost follows the page size and
//! not the tenant's. Entries are written by the import path, then `ANALYZE` runs, as after
//! `zellige import`. (`ZELLIGE_PLAN_ENTRIES` lowers the count for a quick local run.)

mod common;

use std::collections::HashSet;

use serde_json::json;
use zellige::content::PageArgs;
use zellige::store::entries::Stage;

fn entries() -> usize {
    std::env::var("ZELLIGE_PLAN_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// Plan lines that mean the database reads more than a page.
fn whole_reads(backend: &str, plan: &str) -> Vec<String> {
    plan.lines()
        .filter(|l| match backend {
            "sqlite" => {
                l.contains("TEMP B-TREE")
                    || l.contains("LIST SUBQUERY")
                    || l.contains("BLOOM FILTER")
                    || (l.trim_start().starts_with("SCAN") && !l.contains("INDEX"))
            }
            _ => {
                let l = l.trim_start().trim_start_matches("->  ");
                l.starts_with("Sort")
                    || l.starts_with("Seq Scan")
                    || l.starts_with("Hash")
                    || l.starts_with("Bitmap")
                    || l.contains("SubPlan")
            }
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn list_plans_read_one_range_at_100k_entries() {
    let total = entries();
    for t in common::backends().await {
        eprintln!("-- backend: {} ({total} entries)", t.name);
        let ctx = t.tenant("marrakech-safi").await;
        let (articles, events) = (total * 2 / 5, total / 5);
        let lines = zellige::demo::synthetic(articles, events, total - articles - events);
        let known = HashSet::new();
        let mut rest = lines.into_iter().enumerate().peekable();
        while rest.peek().is_some() {
            let chunk: Vec<_> = rest.by_ref().take(1000).map(|(i, l)| (i + 1, l)).collect();
            t.content
                .import_batch(&ctx, chunk, &known)
                .await
                .expect("import");
        }
        t.content.analyze().await.expect("analyze");

        let filtered = PageArgs {
            filter: Some(json!({"craft": {"eq": "زليج"}, "city": {"eq": "مراكش"}})),
            order_by: vec![("name".into(), false)],
            first: Some(20),
            ..Default::default()
        };
        // Page 3: after the cursor that ends page 2.
        let mut page3 = filtered.clone();
        for _ in 0..2 {
            let page = t
                .content
                .list(&ctx, "artisan", &page3, Stage::Published)
                .await
                .expect("page");
            assert_eq!(page.entries.len(), 20);
            page3.after = page.entries.last().map(|(_, c)| c.encode());
        }
        let cases = [
            (
                "latest",
                "article",
                PageArgs {
                    order_by: vec![("publishedAt".into(), true)],
                    first: Some(20),
                    ..Default::default()
                },
            ),
            (
                "range",
                "event",
                PageArgs {
                    filter: Some(
                        json!({"startsAt": {"gte": "2015-06-01T00:00:00Z", "lt": "2015-07-01T00:00:00Z"}}),
                    ),
                    order_by: vec![("startsAt".into(), false)],
                    first: Some(20),
                    ..Default::default()
                },
            ),
            ("filtered, page 3", "artisan", page3),
        ];
        for (name, ty, args) in &cases {
            let plan = t
                .content
                .explain_list(&ctx, ty, args, Stage::Published)
                .await
                .expect("explain");
            eprintln!("{name}:\n{plan}");
            assert_eq!(
                whole_reads(t.name, &plan),
                Vec::<String>::new(),
                "{name}: {plan}"
            );
            match t.name {
                "sqlite" => assert!(
                    plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                    "{name}: {plan}"
                ),
                _ => assert!(plan.starts_with("Limit"), "{name}: {plan}"),
            }
        }
        // On PostgreSQL the read connections plan these three once, without their values
        // (`store::pg_reads`): that generic plan must be the same range read.
        if t.name == "postgres" {
            for (name, ty, args) in &cases {
                let plan = t
                    .content
                    .explain_generic_list(&ctx, ty, args, Stage::Published)
                    .await
                    .expect("explain generic")
                    .unwrap_or_else(|| panic!("{name} is planned by its shape"));
                eprintln!("{name}, generic plan:\n{plan}");
                assert_eq!(
                    whole_reads(t.name, &plan),
                    Vec::<String>::new(),
                    "{name}, generic: {plan}"
                );
                assert!(plan.starts_with("Limit"), "{name}, generic: {plan}");
                // Pages found through the value index fetch each document by its id first
                // (the migration `entry_probe` says why).
                if *name != "latest" {
                    assert!(
                        plan.contains("ix_entry_docs_entry"),
                        "{name}, generic: {plan}"
                    );
                }
            }
            // A filter the sort's index cannot answer leaves the planner a choice that depends
            // on the values: planned with them, each time.
            let residual = PageArgs {
                filter: Some(json!({"city": {"eq": "مراكش"}})),
                order_by: vec![("name".into(), false)],
                first: Some(20),
                ..Default::default()
            };
            let generic = t
                .content
                .explain_generic_list(&ctx, "artisan", &residual, Stage::Published)
                .await
                .expect("explain generic");
            assert_eq!(
                generic, None,
                "a residual filter is planned with its values"
            );
        }
        // The filtered page reads the compound index's range, in order (from the cursor's key
        // on where SQLite seeks with the row value `(v, entry_id)`).
        let plan = t
            .content
            .explain_list(&ctx, "artisan", &cases[2].2, Stage::Published)
            .await
            .expect("explain");
        match t.name {
            "sqlite" => assert!(
                plan.contains("SEARCH s0 USING COVERING INDEX ix_entry_fields_lookup")
                    && (plan.contains("v>? AND v<?")
                        || plan.contains("(v,entry_id)>(?,?) AND v<?")),
                "{plan}"
            ),
            _ => assert!(
                plan.contains("ix_entry_fields_lookup") && plan.contains("craft+city+name"),
                "{plan}"
            ),
        }
        // Its count is one range too.
        let plan = t
            .content
            .explain_count(&ctx, "artisan", &filtered, Stage::Published)
            .await
            .expect("explain count");
        eprintln!("count:\n{plan}");
        let reads: Vec<String> = whole_reads(t.name, &plan)
            .into_iter()
            // An aggregate over the range is fine; sorting or hashing the matches is not.
            .filter(|l| !l.contains("Aggregate"))
            .collect();
        assert_eq!(reads, Vec::<String>::new(), "count: {plan}");
        assert!(plan.contains("ix_entry_fields_lookup"), "count: {plan}");
        let n = t
            .content
            .count(&ctx, "artisan", &filtered, Stage::Published)
            .await
            .expect("count");
        assert!(n >= 60, "{n} matches");
    }
}
