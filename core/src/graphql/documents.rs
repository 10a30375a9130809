//! Parsed query documents, by query text. A frontend sends a handful of query texts with
//! different variables; `graphql::parse` reads a search page's text in about 4 µs (async-
//! graphql's own parser took 40 µs, a tenth of a search request), so this saves little more
//! than the limit check now, and turning it off costs little. Only the parse and the static
//! limit check are kept: validation against the tenant's schema, the check with variables
//! (`checks::GatedSchema`) and execution still run for every request, and nothing here depends
//! on a tenant or on the data, so no write ever needs to retire an entry.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;

use super::builder::GraphqlLimits;
use super::checks;

/// What `checks::check` made of a query text: the document, `None` when it does not parse
/// (the executor reports the syntax error), or the limit it breaks.
pub type Checked = Result<Option<Arc<ExecutableDocument>>, String>;

/// A parsed document is some ten times the size of its text: the cache weighs entries so.
const WEIGHT_PER_BYTE: usize = 10;

#[derive(Clone)]
pub struct Documents {
    /// `None` when the cache is off (`limits.graphql_document_cache_bytes = 0`).
    inner: Option<moka::sync::Cache<String, Arc<ExecutableDocument>>>,
}

impl Documents {
    /// `bytes`: the estimated memory the parsed documents may take; 0 turns the cache off.
    pub fn new(bytes: u64) -> Documents {
        let inner = (bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|query: &String, _: &Arc<ExecutableDocument>| {
                    u32::try_from(query.len().saturating_mul(WEIGHT_PER_BYTE)).unwrap_or(u32::MAX)
                })
                .build()
        });
        Documents { inner }
    }

    /// `checks::check`, parsing each query text once while it stays in the cache. Texts that
    /// do not parse or break a limit are not kept: they are answered with an error, cheaply
    /// enough, and would only push out the documents of well-behaved clients.
    pub fn check(&self, query: &str, limits: &GraphqlLimits) -> Checked {
        let Some(cache) = &self.inner else {
            return checks::check(query, limits).map(|doc| doc.map(Arc::new));
        };
        if let Some(doc) = cache.get(query) {
            // The limits are the server's and fixed; a document that passed them still does.
            return Ok(Some(doc));
        }
        let doc = checks::check(query, limits)?.map(Arc::new);
        if let Some(doc) = &doc {
            cache.insert(query.to_owned(), doc.clone());
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text within the limits that parses, checked through `documents`.
    fn parsed(
        documents: &Documents,
        query: &str,
        limits: &GraphqlLimits,
    ) -> Arc<ExecutableDocument> {
        documents
            .check(query, limits)
            .expect("within the limits")
            .expect("parses")
    }

    #[test]
    fn a_cached_document_is_the_one_parsed_from_the_same_text() {
        let documents = Documents::new(1024 * 1024);
        let limits = GraphqlLimits::default();
        let first = parsed(&documents, "{ articles { id } }", &limits);
        let again = parsed(&documents, "{ articles { id } }", &limits);
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second check reuses the parse"
        );
        let other = parsed(&documents, "{ articles { title } }", &limits);
        assert!(!Arc::ptr_eq(&first, &other));
    }

    #[test]
    fn refusals_and_syntax_errors_are_answered_every_time_and_not_kept() {
        let documents = Documents::new(1024 * 1024);
        let limits = GraphqlLimits {
            depth: 2,
            ..GraphqlLimits::default()
        };
        let deep = "{ a { b { c { d } } } }";
        for _ in 0..2 {
            let refused = documents.check(deep, &limits);
            assert!(
                matches!(&refused, Err(m) if m.contains("nests")),
                "{refused:?}"
            );
        }
        assert!(matches!(documents.check("{ a {", &limits), Ok(None)));
        let cache = documents.inner.as_ref().expect("on");
        cache.run_pending_tasks();
        assert_eq!(cache.entry_count(), 0);
    }

    #[test]
    fn a_zero_budget_turns_the_cache_off() {
        let documents = Documents::new(0);
        let limits = GraphqlLimits::default();
        let a = parsed(&documents, "{ a }", &limits);
        let b = parsed(&documents, "{ a }", &limits);
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(documents.inner.is_none());
    }
}
