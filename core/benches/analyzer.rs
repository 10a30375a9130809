//! The Arabic/French analyzer, measured on the demo tenant's texts (the chamber's real news,
//! events and artisans): analyzing them as the indexer does, and highlighting a page of search
//! hits as the GraphQL `search` field does (which analyzes each hit's texts again).
//!
//! `cargo bench -p zellige --bench analyzer`; figures in `bench/README.md`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use zellige::search::{Matching, analyzer, highlight, query_terms};

/// Every string of the demo entries' fields, by field name.
fn demo_texts() -> Vec<(String, String)> {
    fn walk(field: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::String(s) => out.push((field.to_owned(), s.clone())),
            Value::Array(items) => items.iter().for_each(|i| walk(field, i, out)),
            Value::Object(m) => m.values().for_each(|i| walk(field, i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for tenant in zellige::demo::demo_lines().expect("demo files") {
        for (_, line) in tenant {
            for (name, v) in &line.fields {
                walk(name, v, &mut out);
            }
        }
    }
    out
}

fn analyze(c: &mut Criterion) {
    let texts = demo_texts();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let mut group = c.benchmark_group("analyzer");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("analyze the demo texts", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|(_, t)| analyzer::analyze(t).len())
                .sum::<usize>()
        })
    });
    group.finish();

    // A page of ten hits: ten entries' texts, highlighted for a word most of them hold.
    let hits: Vec<Vec<(String, String)>> = texts.chunks(8).take(10).map(<[_]>::to_vec).collect();
    let (terms, prefix) = query_terms("التعاونيات");
    let mut group = c.benchmark_group("highlight");
    group.throughput(Throughput::Elements(hits.len() as u64));
    group.bench_function("a page of ten hits", |b| {
        b.iter(|| {
            hits.iter()
                .map(|texts| {
                    highlight::highlights(&terms, prefix.as_deref(), Matching::default(), texts)
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, analyze);
criterion_main!(benches);
