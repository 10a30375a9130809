//! Reading a query text into a document: async-graphql's parser against `graphql::parse`,
//! on the texts the benchmarks send (a search page's query, a list page's query with
//! fragments and inline arguments).
//!
//! `cargo bench -p zellige --bench graphql_parse`; figures in `bench/README.md`.

use criterion::{Criterion, criterion_group, criterion_main};
use zellige::graphql::parse::parse_query;

const SEARCH: &str = "query Search($q: String!, $types: [String!], $where: SearchWhere, $locale: String) { search(query: $q, types: $types, where: $where, locale: $locale, first: 10) { totalHits hits { id type title score highlights { field snippet } } facets { field values { value count } } } }";

const LIST: &str = r#"
query Artisans($after: String) {
  artisans(where: {craft: {eq: "زليج"}, city: {eq: "مراكش"}}, orderBy: [{field: name, direction: ASC}], first: 20, after: $after) {
    edges { cursor node { ...Card } }
    pageInfo { hasNextPage endCursor }
  }
}
fragment Card on Artisan { id slug name craft city phone @include(if: true) }
"#;

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("graphql parse");
    for (name, text) in [("search", SEARCH), ("list", LIST)] {
        group.bench_function(format!("{name}: async-graphql"), |b| {
            b.iter(|| {
                async_graphql::parser::parse_query(std::hint::black_box(text)).expect("parses")
            })
        });
        group.bench_function(format!("{name}: graphql::parse"), |b| {
            b.iter(|| parse_query(std::hint::black_box(text)).expect("parses"))
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
