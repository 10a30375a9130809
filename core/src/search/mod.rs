//! Search (SPEC §8): published entries indexed per tenant, queried the way Arabic readers type.
//!
//! Owns the analyzer (`analyzer`, one chain for documents and queries), the backend interface
//! ([`SearchBackend`]) with the embedded tantivy index (`embedded`), the outbox consumer that
//! keeps the index in step with the database (`worker`) and highlighting (`highlight`). It reads
//! entries through the content service and the outbox through the store; GraphQL and the CLI
//! call it. Drafts never reach an index: only `entry.published` (and a content-type change)
//! adds documents; `entry.unpublished` and `entry.deleted` remove them.

pub mod analyzer;
pub mod embedded;
pub mod facets;
pub mod highlight;
pub mod meili;
pub mod synonyms;
pub mod worker;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::Value;

use crate::content::Entry;
use crate::content::model::{ContentType, FieldKind};
use crate::content::values::localized_value;
use crate::error::ErrorCode;
use crate::tenancy::TenantCtx;

/// Errors of the search layer.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The backend cannot answer now (index missing or locked, service down).
    #[error("search is unavailable: {0}")]
    Unavailable(String),
    #[error("invalid search: {0}")]
    Invalid(String),
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
}

impl SearchError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SearchError::Unavailable(_) => ErrorCode::SearchUnavailable,
            SearchError::Invalid(_) => ErrorCode::BadUserInput,
            SearchError::Db(_) => ErrorCode::Internal,
        }
    }
}

/// One indexed document: a published entry in one locale.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDoc {
    pub entry_id: String,
    pub entry_type: String,
    pub locale: String,
    /// The display title (the `slugFrom` field, else the first searchable one).
    pub title: String,
    /// Searchable fields as plain text, by field name, in the type's order.
    pub texts: Vec<(String, String)>,
    /// Filterable text values (string and enum fields), by field name.
    pub attrs: Vec<(String, String)>,
    /// Filterable dates, milliseconds since the epoch: `publishedAt` and datetime/date fields.
    pub dates: BTreeMap<String, i64>,
    pub published_at: i64,
}

/// A change to apply to a tenant's index.
#[derive(Debug, Clone)]
pub enum IndexOp {
    /// Replace every document of the entry by these (one per locale).
    Upsert {
        entry_id: String,
        docs: Vec<SearchDoc>,
    },
    /// Remove every document of the entry.
    Delete { entry_id: String },
    /// Remove every document of a type (before the type is indexed again).
    DeleteType { entry_type: String },
}

/// A filter on indexed attributes: `field` equals one of `values`; dates within bounds.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchFilter {
    AnyOf {
        field: String,
        values: Vec<String>,
    },
    DateRange {
        field: String,
        gte: Option<i64>,
        lt: Option<i64>,
    },
    And(Vec<SearchFilter>),
    Or(Vec<SearchFilter>),
}

/// A query over one of the search limits: the rule it breaks (`maxLength`, `maxWords`) and a
/// sentence saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimit {
    pub rule: &'static str,
    pub message: String,
}

/// [`query_terms`] of a query within `limits.search_query_chars` characters and
/// `limits.search_words` words (after analysis): the work of a search grows with its words and
/// their length (a typo-tolerant word is an automaton over the term dictionary).
pub fn bounded_query_terms(
    query: &str,
    max_words: usize,
    max_chars: usize,
) -> Result<(Vec<String>, Option<String>), OverLimit> {
    let chars = query.chars().count();
    if chars > max_chars {
        return Err(OverLimit {
            rule: "maxLength",
            message: format!(
                "at most {max_chars} characters (`limits.search_query_chars`); this one has {chars}"
            ),
        });
    }
    let (terms, prefix) = query_terms(query);
    if terms.len() > max_words {
        return Err(OverLimit {
            rule: "maxWords",
            message: format!(
                "at most {max_words} words (`limits.search_words`); this one has {}",
                terms.len()
            ),
        });
    }
    Ok((terms, prefix))
}

/// The terms of a query and its last word unstemmed (see [`SearchRequest::prefix`]).
pub fn query_terms(query: &str) -> (Vec<String>, Option<String>) {
    let tokens = analyzer::analyze(query);
    let prefix = tokens
        .last()
        .map(|t| analyzer::strip_prefixes(&query[t.offset_from..t.offset_to]))
        .filter(|p| !p.is_empty());
    (tokens.into_iter().map(|t| t.text).collect(), prefix)
}

/// What to search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The analyzed query terms (see [`analyzer::normalize_query`]); the last one also matches
    /// as a prefix.
    pub terms: Vec<String>,
    /// The last word unstemmed (prefixes removed only), also matched as a prefix: a word typed
    /// halfway may stop inside its stem's suffix.
    pub prefix: Option<String>,
    /// The types to search; empty searches every type (no filter to intersect with each match).
    pub types: Vec<String>,
    pub locale: String,
    pub filter: Option<SearchFilter>,
    /// Facets to count: `type` and attribute fields.
    pub facets: Vec<String>,
    pub offset: usize,
    pub limit: usize,
}

/// One hit: the entry and its stored texts (for highlighting).
#[derive(Debug, Clone)]
pub struct Hit {
    pub entry_id: String,
    pub entry_type: String,
    pub score: f32,
    pub title: String,
    pub texts: Vec<(String, String)>,
}

/// Which looser readings of the query words a backend used, so that highlights mark what
/// matched and not what might have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Matching {
    /// Words one edit away from the longer query words.
    pub typos: bool,
    /// The last word as typed (before stemming), as a prefix of the words as written.
    pub prefix: bool,
}

impl Matching {
    /// Every reading (a backend that does not say, such as Meilisearch).
    pub const ALL: Matching = Matching {
        typos: true,
        prefix: true,
    };
}

/// The answer of a backend.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub total: usize,
    pub matching: Matching,
    pub hits: Vec<Hit>,
    /// Per facet field, (value, count) by decreasing count.
    pub facets: Vec<(String, Vec<(String, u64)>)>,
}

/// A search index that holds every tenant's published entries, each tenant apart.
pub trait SearchBackend: Send + Sync {
    /// Applies changes to a tenant's index, durably (committed when this returns).
    fn apply<'a>(
        &'a self,
        tenant: &'a str,
        ops: Vec<IndexOp>,
    ) -> BoxFuture<'a, Result<(), SearchError>>;
    /// Replaces a tenant's whole index by `docs` in one commit (readers see the old index until
    /// then).
    fn rebuild<'a>(
        &'a self,
        tenant: &'a str,
        docs: Vec<SearchDoc>,
    ) -> BoxFuture<'a, Result<(), SearchError>>;
    fn search<'a>(
        &'a self,
        tenant: &'a str,
        req: SearchRequest,
    ) -> BoxFuture<'a, Result<SearchResults, SearchError>>;
    /// Whether the tenant's index exists and can be used (the worker rebuilds it otherwise);
    /// an error when the backend cannot tell (a service down).
    fn healthy<'a>(&'a self, tenant: &'a str) -> BoxFuture<'a, Result<bool, SearchError>>;
    /// Whether the backend answers at all (for `/readyz`).
    fn reachable(&self) -> BoxFuture<'_, bool>;
    /// `embedded` or `meilisearch`, for `/readyz` and logs.
    fn name(&self) -> &'static str;
    /// Whether every node writes to the same index (a service): then one node applies each
    /// batch. A node-local index is kept by each node for itself.
    fn shared(&self) -> bool;
    /// Gives back what an idle index holds for writing (the embedded index's writers); the
    /// indexer calls it between passes.
    fn release_idle(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// The search service: a backend and what it has applied, per tenant.
#[derive(Clone)]
pub struct Search {
    backend: Arc<dyn SearchBackend>,
    /// The outbox consumer that feeds this backend: `search` for a shared index, one per data
    /// directory (`search@<node>`) for a node-local one, so that each node's index keeps its
    /// own position.
    consumer: Arc<str>,
    /// The outbox sequence each tenant's index has reached on this node.
    applied: Arc<Mutex<HashMap<String, i64>>>,
}

impl Search {
    pub fn new(backend: Arc<dyn SearchBackend>, consumer: &str) -> Search {
        Search {
            backend,
            consumer: Arc::from(consumer),
            applied: Arc::default(),
        }
    }

    /// The backend the configuration names: Meilisearch when `meili_url` is set, else the
    /// embedded index under the data directory.
    pub fn from_config(config: &crate::config::Config) -> Result<Search, SearchError> {
        match &config.meili_url {
            Some(url) => {
                let backend = meili::Meili::new(
                    url,
                    config.meili_key.as_ref().map(|k| k.expose()),
                    &config.meili_index_prefix,
                )?;
                Ok(Search::new(Arc::new(backend), worker::CONSUMER))
            }
            None => {
                let root = embedded::default_root(&config.data_dir);
                let node = embedded::node_id(&root).map_err(|e| {
                    SearchError::Unavailable(format!("search directory {}: {e}", root.display()))
                })?;
                Ok(Search::new(
                    Arc::new(Arc::new(embedded::Embedded::new(root))),
                    &format!("{}@{node}", worker::CONSUMER),
                ))
            }
        }
    }

    /// The outbox consumer of this node's index.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    pub fn backend(&self) -> &Arc<dyn SearchBackend> {
        &self.backend
    }

    /// The outbox sequence the tenant's index has reached (0 when unknown).
    pub fn applied(&self, tenant: &str) -> i64 {
        self.applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(tenant)
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn set_applied(&self, tenant: &str, seq: i64) {
        self.applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(tenant.to_owned(), seq);
    }
}

/// Plain text of a stored value: strings as they are, rich text without tags.
fn plain(field_kind: &FieldKind, value: &Value) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if matches!(field_kind, FieldKind::RichText) => Some(strip_html(s)),
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        v => one(v).into_iter().collect(),
    }
}

/// Text content of sanitized HTML (block ends become line breaks).
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                if matches!(
                    name,
                    "p" | "br" | "li" | "h1" | "h2" | "h3" | "h4" | "div" | "tr"
                ) {
                    out.push('\n');
                }
            }
            c if in_tag => tag.push(c),
            c => out.push(c),
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .trim()
        .to_owned()
}

/// The documents of a published entry: one per tenant locale (localized fields resolved with
/// the tenant's fallback, so a French reader finds what a French reader sees).
pub fn documents(entry: &Entry, ct: &ContentType, tenant: &TenantCtx) -> Vec<SearchDoc> {
    let default_locale = tenant.default_locale();
    let title_field = ct
        .slug_from
        .as_deref()
        .and_then(|n| ct.field(n))
        .or_else(|| ct.fields.iter().find(|f| f.searchable));
    let published_at = entry.published_at.unwrap_or(entry.updated_at);
    tenant
        .locales()
        .iter()
        .map(|locale| {
            let value = |name: &str| {
                let f = ct.field(name)?;
                let v = entry.data.get(name)?;
                localized_value(f, v, locale, default_locale)
            };
            let title = title_field
                .and_then(|f| value(&f.name).map(|v| plain(&f.kind, v).join(" ")))
                .unwrap_or_default();
            let mut texts = Vec::new();
            let mut attrs = Vec::new();
            let mut dates = BTreeMap::new();
            dates.insert("publishedAt".to_owned(), published_at);
            for f in &ct.fields {
                let Some(v) = value(&f.name) else { continue };
                if f.searchable {
                    let text = plain(&f.kind, v).join("\n");
                    if !text.is_empty() {
                        texts.push((f.name.clone(), text));
                    }
                }
                if f.filterable {
                    match &f.kind {
                        FieldKind::DateTime | FieldKind::Date => {
                            if let Some(ms) = v.as_str().and_then(parse_date) {
                                dates.insert(f.name.clone(), ms);
                            }
                        }
                        FieldKind::String
                        | FieldKind::Text
                        | FieldKind::Enum(_)
                        | FieldKind::Email
                        | FieldKind::Url
                        | FieldKind::Phone => {
                            for s in plain(&f.kind, v) {
                                attrs.push((f.name.clone(), s));
                            }
                        }
                        _ => {}
                    }
                }
            }
            SearchDoc {
                entry_id: entry.id.clone(),
                entry_type: entry.entry_type.clone(),
                locale: locale.clone(),
                title,
                texts,
                attrs,
                dates,
                published_at,
            }
        })
        .collect()
}

/// RFC 3339 date-times and plain dates (midnight UTC).
pub fn parse_date(s: &str) -> Option<i64> {
    crate::time::parse_rfc3339(s).or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| dt.and_utc().timestamp_millis())
    })
}
