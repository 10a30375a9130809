//! The Meilisearch backend (when `meili_url` is set), through `meilisearch-sdk`.
//!
//! Meilisearch's own tokenizer folds tashkeel, tatweel, alef forms, ى and ة, but it neither
//! removes the proclitics و ب ل ك ف (`بمراكش` never meets `مراكش`), nor stems (`تعاونيات` vs
//! `تعاونية`), nor folds Arabic-Indic digits, and it splits a leading ال into a token of its
//! own. So documents carry, beside the raw text used for display and highlighting, the text
//! analyzed by [`super::analyzer`] (the chain the embedded index uses), and only those analyzed
//! fields are searchable; queries are analyzed the same way before they are sent. Searching
//! analyzed text with analyzed words makes both backends answer alike.
//!
//! Decisions, each against a documented Meilisearch behaviour:
//! - **Isolation by index**: one index per tenant, `<prefix><tenant id>`; a query names only its
//!   tenant's index, so no filter the client could drop is involved.
//! - **Per-locale fields**: a document is one entry in one locale, and its analyzed fields are
//!   named for the locale's language (`ar_title`, `ar_text`, `fr_title` …).
//!   `localizedAttributes` pins `ar_*` to `ara` and `fr_*` to `fra`, and searches send the
//!   same `locales`, so a short Arabic text is never taken for Persian.
//! - **Matching strategy `all`**: every word of the query must match, as in the embedded index;
//!   with `last` a query whose other words fail would still match on one common word.
//! - **Ranking**: Meilisearch's rules, then `publishedAt:desc` as a custom rule, which is the
//!   date tie-break of SPEC §8 without a `sort` parameter on each query.
//! - **Synonyms**: the place names of [`super::synonyms`], in analyzed form.
//! - **Tasks**: every write is a task; `apply` and `rebuild` wait for theirs and fail if one
//!   failed, so the indexer moves its position only past what Meilisearch has applied. Tasks of
//!   one index run in the order they were enqueued.
//! - **Settings** are the project's, not an operator's: on first use in a process each index's
//!   settings are compared with [`settings`] and corrected (waiting for the task) when they drift.
//! - **Rebuild** writes a fresh index and swaps it in (`POST /swap-indexes`), so searches answer
//!   from the old one until the new one is complete.
//! - **Totals** are exact: a page that starts on a multiple of its size is asked with
//!   `page`/`hitsPerPage` (exhaustive `totalHits`); any other offset asks for the hits up to its
//!   end on page 1 and skips the start.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use meilisearch_sdk::client::{Client, SwapIndexes};
use meilisearch_sdk::documents::DocumentDeletionQuery;
use meilisearch_sdk::errors::{Error as MeiliError, ErrorCode};
use meilisearch_sdk::search::{MatchingStrategies, Selectors};
use meilisearch_sdk::settings::Settings;
use meilisearch_sdk::task_info::TaskInfo;
use meilisearch_sdk::tasks::Task;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::embedded::DATE_FIELDS;
use super::{
    Hit, IndexOp, Matching, SearchBackend, SearchDoc, SearchError, SearchFilter, SearchRequest,
    SearchResults, analyzer, synonyms,
};

/// Languages with fields of their own, pinned to Meilisearch's locale codes; any other locale
/// is indexed under `xx_*` and left to Meilisearch's detection.
const LANGUAGES: [(&str, &str); 5] = [
    ("ar", "ara"),
    ("fr", "fra"),
    ("en", "eng"),
    ("es", "spa"),
    ("de", "deu"),
];
/// Documents sent per request.
const CHUNK: usize = 1_000;
/// Ids per delete-by-filter.
const IDS_PER_FILTER: usize = 200;
/// How long a write may wait for its task.
const TASK_TIMEOUT: Duration = Duration::from_secs(120);
const TASK_POLL: Duration = Duration::from_millis(25);
/// Hits a query may reach (`pagination.maxTotalHits`).
const MAX_TOTAL_HITS: usize = 10_000;

/// The analyzed-field prefix of a locale (`ar`, `fr` … or `xx`).
fn lang(locale: &str) -> &'static str {
    let base = locale.split(['-', '_']).next().unwrap_or(locale);
    LANGUAGES
        .iter()
        .find(|(l, _)| *l == base)
        .map_or("xx", |(l, _)| l)
}

fn meili_locale(locale: &str) -> Option<&'static str> {
    let l = lang(locale);
    LANGUAGES.iter().find(|(k, _)| *k == l).map(|(_, m)| *m)
}

/// The settings every index gets.
pub fn settings() -> Value {
    let prefixes: Vec<&str> = LANGUAGES
        .iter()
        .map(|(l, _)| *l)
        .chain(std::iter::once("xx"))
        .collect();
    // Titles before texts: the `attribute` rule ranks a match in a title higher.
    let searchable: Vec<String> = prefixes
        .iter()
        .map(|p| format!("{p}_title"))
        .chain(prefixes.iter().map(|p| format!("{p}_text")))
        .collect();
    let localized: Vec<Value> = LANGUAGES
        .iter()
        .map(|(l, m)| json!({ "attributePatterns": [format!("{l}_*")], "locales": [m] }))
        .collect();
    json!({
        "searchableAttributes": searchable,
        "displayedAttributes": ["id", "entryId", "type", "locale", "title", "texts", "publishedAt"],
        "filterableAttributes": ["attrs", "dates", "entryId", "locale", "type"],
        "sortableAttributes": ["publishedAt"],
        "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness", "publishedAt:desc"],
        "localizedAttributes": localized,
        "synonyms": synonyms::table(),
        "typoTolerance": {
            "enabled": true,
            "minWordSizeForTypos": { "oneTypo": 5, "twoTypos": 9 },
            "disableOnNumbers": true
        },
        "pagination": { "maxTotalHits": MAX_TOTAL_HITS },
        "faceting": { "maxValuesPerFacet": 100 },
    })
}

/// Settings compared for drift: lists whose order carries no meaning are sorted.
fn comparable(settings: &Value, keys: &[&str]) -> Value {
    let unordered = [
        "displayedAttributes",
        "filterableAttributes",
        "sortableAttributes",
    ];
    let mut out = Map::new();
    for k in keys {
        let mut v = settings.get(*k).cloned().unwrap_or(Value::Null);
        if unordered.contains(k)
            && let Value::Array(items) = &mut v
        {
            items.sort_by_key(|i| i.to_string());
        }
        if *k == "synonyms"
            && let Value::Object(map) = &mut v
        {
            for list in map.values_mut() {
                if let Value::Array(items) = list {
                    items.sort_by_key(|i| i.to_string());
                }
            }
        }
        if *k == "typoTolerance"
            && let Value::Object(map) = &mut v
        {
            // Only what we set.
            map.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "enabled" | "minWordSizeForTypos" | "disableOnNumbers"
                )
            });
        }
        out.insert((*k).to_owned(), v);
    }
    Value::Object(out)
}

/// A document as Meilisearch stores it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    /// `<entry id>_<locale>`, restricted to what a Meilisearch id allows.
    id: String,
    entry_id: String,
    #[serde(rename = "type")]
    entry_type: String,
    locale: String,
    title: String,
    /// Raw searchable texts by field, for highlighting.
    texts: Map<String, Value>,
    /// Filterable text values by field.
    #[serde(default)]
    attrs: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    dates: BTreeMap<String, i64>,
    published_at: i64,
    /// Analyzed title and text under `<lang>_title`, `<lang>_text`.
    #[serde(flatten)]
    analyzed: Map<String, Value>,
}

fn document_id(entry_id: &str, locale: &str) -> String {
    format!("{entry_id}_{locale}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Analyzed text: each word's analyzed term and, when different, its unstemmed form (so that
/// a half-typed word matches as a prefix of what was written, as in the embedded index) and
/// its reading without a proclitic.
fn analyzed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for t in analyzer::analyze(text) {
        let unstemmed = analyzer::strip_prefixes(&text[t.offset_from..t.offset_to]);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t.text);
        if !unstemmed.is_empty() && unstemmed != t.text {
            out.push(' ');
            out.push_str(&unstemmed);
        }
        if let Some(v) = analyzer::proclitic_variant(&t.text) {
            out.push(' ');
            out.push_str(&v);
        }
    }
    out
}

/// The query as sent: analyzed terms, each in its reading without a proclitic when it has
/// one (documents hold both readings, so the shorter one finds both).
fn query_text(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| analyzer::proclitic_variant(t).unwrap_or_else(|| t.clone()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn to_document(d: &SearchDoc) -> Document {
    let l = lang(&d.locale);
    let mut attrs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &d.attrs {
        attrs.entry(k.clone()).or_default().push(v.clone());
    }
    let text: Vec<String> = d.texts.iter().map(|(_, t)| analyzed(t)).collect();
    let mut an = Map::new();
    an.insert(format!("{l}_title"), Value::from(analyzed(&d.title)));
    an.insert(format!("{l}_text"), Value::from(text.join("\n")));
    Document {
        id: document_id(&d.entry_id, &d.locale),
        entry_id: d.entry_id.clone(),
        entry_type: d.entry_type.clone(),
        locale: d.locale.clone(),
        title: d.title.clone(),
        texts: d
            .texts
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect(),
        attrs,
        dates: d.dates.clone(),
        published_at: d.published_at,
        analyzed: an,
    }
}

/// A string literal of Meilisearch's filter syntax.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The filter attribute of a field: `type`, a date under `dates.`, else a text under `attrs.`.
fn attribute(field: &str) -> String {
    if field == "type" {
        "type".to_owned()
    } else if DATE_FIELDS.contains(&field) {
        format!("dates.{field}")
    } else {
        format!("attrs.{field}")
    }
}

/// A [`SearchFilter`] in Meilisearch's filter expression syntax.
pub fn filter_expression(filter: &SearchFilter) -> String {
    match filter {
        SearchFilter::AnyOf { field, values } => {
            if values.is_empty() {
                // Nothing can equal none of no values: a filter that matches nothing.
                return format!("{} IN []", attribute(field));
            }
            let list: Vec<String> = values.iter().map(|v| quoted(v)).collect();
            format!("{} IN [{}]", attribute(field), list.join(", "))
        }
        SearchFilter::DateRange { field, gte, lt } => {
            let a = attribute(field);
            match (gte, lt) {
                (Some(g), Some(l)) => format!("({a} >= {g} AND {a} < {l})"),
                (Some(g), None) => format!("{a} >= {g}"),
                (None, Some(l)) => format!("{a} < {l}"),
                (None, None) => format!("{a} EXISTS"),
            }
        }
        SearchFilter::And(parts) | SearchFilter::Or(parts) if parts.is_empty() => {
            "entryId EXISTS".to_owned()
        }
        SearchFilter::And(parts) => format!(
            "({})",
            parts
                .iter()
                .map(filter_expression)
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
        SearchFilter::Or(parts) => format!(
            "({})",
            parts
                .iter()
                .map(filter_expression)
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
    }
}

fn unavailable(e: impl std::fmt::Display) -> SearchError {
    SearchError::Unavailable(format!("meilisearch: {e}"))
}

fn index_missing(e: &MeiliError) -> bool {
    matches!(e, MeiliError::Meilisearch(m) if m.error_code == ErrorCode::IndexNotFound)
}

/// Meilisearch indexes, one per tenant.
pub struct Meili {
    client: Client,
    prefix: String,
    /// Indexes whose settings were checked in this process.
    ready: Mutex<HashSet<String>>,
    /// Tenants whose index this process has used: a missing one is then an outage.
    seen: Mutex<HashSet<String>>,
}

impl Meili {
    pub fn new(url: &str, key: Option<&str>, prefix: &str) -> Result<Meili, SearchError> {
        let client = Client::new(url, key).map_err(unavailable)?;
        Ok(Meili {
            client,
            prefix: prefix.to_owned(),
            ready: Mutex::default(),
            seen: Mutex::default(),
        })
    }

    fn uid(&self, tenant: &str) -> String {
        format!("{}{tenant}", self.prefix)
    }

    /// Waits for a task and fails unless it succeeded.
    async fn wait(&self, task: TaskInfo) -> Result<(), SearchError> {
        self.wait_or_missing(task, false).await
    }

    /// Waits for a task; with `missing_ok`, a task that failed because its index does not
    /// exist counts as done (deleting an index that is not there).
    async fn wait_or_missing(&self, task: TaskInfo, missing_ok: bool) -> Result<(), SearchError> {
        match self
            .client
            .wait_for_task(task, Some(TASK_POLL), Some(TASK_TIMEOUT))
            .await
            .map_err(unavailable)?
        {
            Task::Succeeded { .. } => Ok(()),
            Task::Failed { content }
                if missing_ok && content.error.error_code == ErrorCode::IndexNotFound =>
            {
                Ok(())
            }
            Task::Failed { content } => Err(unavailable(content.error)),
            other => Err(unavailable(format!(
                "task {} did not finish",
                other.get_uid()
            ))),
        }
    }

    /// Creates the index when missing and makes its settings the project's.
    async fn ensure(&self, uid: &str) -> Result<(), SearchError> {
        if self
            .ready
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(uid)
        {
            return Ok(());
        }
        match self.client.get_index(uid).await {
            Ok(_) => {}
            Err(e) if index_missing(&e) => {
                let task = self
                    .client
                    .create_index(uid, Some("id"))
                    .await
                    .map_err(unavailable)?;
                self.wait(task).await?;
            }
            Err(e) => return Err(unavailable(e)),
        }
        let desired = settings();
        let keys: Vec<&str> = desired
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let index = self.client.index(uid);
        let current = index.get_settings().await.map_err(unavailable)?;
        let current = serde_json::to_value(&current).map_err(unavailable)?;
        if comparable(&current, &keys) != comparable(&desired, &keys) {
            tracing::info!(
                index = uid,
                "search index settings differ from the project's; correcting them"
            );
            let settings: Settings = serde_json::from_value(desired)
                .map_err(|e| unavailable(format!("settings: {e}")))?;
            let task = index.set_settings(&settings).await.map_err(unavailable)?;
            self.wait(task).await?;
        }
        self.ready
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(uid.to_owned());
        Ok(())
    }

    fn mark_seen(&self, tenant: &str) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(tenant.to_owned());
    }

    async fn add(&self, uid: &str, docs: &[SearchDoc]) -> Result<Option<TaskInfo>, SearchError> {
        let mut last = None;
        let index = self.client.index(uid);
        for chunk in docs.chunks(CHUNK) {
            let batch: Vec<Document> = chunk.iter().map(to_document).collect();
            last = Some(
                index
                    .add_or_replace(&batch, Some("id"))
                    .await
                    .map_err(unavailable)?,
            );
        }
        Ok(last)
    }

    async fn delete_where(&self, uid: &str, filter: &str) -> Result<TaskInfo, SearchError> {
        let index = self.client.index(uid);
        let mut query = DocumentDeletionQuery::new(&index);
        query.with_filter(filter);
        index
            .delete_documents_with(&query)
            .await
            .map_err(unavailable)
    }

    async fn apply_ops(&self, tenant: &str, ops: Vec<IndexOp>) -> Result<(), SearchError> {
        let uid = self.uid(tenant);
        self.ensure(&uid).await?;
        self.mark_seen(tenant);
        // Consecutive entry changes are merged (the last change of an entry wins) and sent as
        // one deletion of their old documents followed by one addition; a type's removal
        // flushes what came before it, so the order of the batch is kept.
        let mut tasks: Vec<TaskInfo> = Vec::new();
        let mut pending: Vec<(String, Option<Vec<SearchDoc>>)> = Vec::new();
        for op in ops {
            match op {
                IndexOp::Upsert { entry_id, docs } => {
                    pending.retain(|(id, _)| *id != entry_id);
                    pending.push((entry_id, Some(docs)));
                }
                IndexOp::Delete { entry_id } => {
                    pending.retain(|(id, _)| *id != entry_id);
                    pending.push((entry_id, None));
                }
                IndexOp::DeleteType { entry_type } => {
                    self.flush(&uid, std::mem::take(&mut pending), &mut tasks)
                        .await?;
                    tasks.push(
                        self.delete_where(&uid, &format!("type = {}", quoted(&entry_type)))
                            .await?,
                    );
                }
            }
        }
        self.flush(&uid, pending, &mut tasks).await?;
        for task in tasks {
            self.wait(task).await?;
        }
        Ok(())
    }

    async fn flush(
        &self,
        uid: &str,
        pending: Vec<(String, Option<Vec<SearchDoc>>)>,
        tasks: &mut Vec<TaskInfo>,
    ) -> Result<(), SearchError> {
        if pending.is_empty() {
            return Ok(());
        }
        for ids in pending.chunks(IDS_PER_FILTER) {
            let list: Vec<String> = ids.iter().map(|(id, _)| quoted(id)).collect();
            tasks.push(
                self.delete_where(uid, &format!("entryId IN [{}]", list.join(", ")))
                    .await?,
            );
        }
        let docs: Vec<SearchDoc> = pending
            .into_iter()
            .filter_map(|(_, d)| d)
            .flatten()
            .collect();
        tasks.extend(self.add(uid, &docs).await?);
        Ok(())
    }

    async fn rebuild_index(&self, tenant: &str, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        let uid = self.uid(tenant);
        let fresh = format!("{uid}__rebuild");
        // A fresh index from a clean slate: a rebuild interrupted earlier may have left one.
        match self.client.delete_index(&fresh).await {
            Ok(task) => self.wait_or_missing(task, true).await?,
            Err(e) if index_missing(&e) => {}
            Err(e) => return Err(unavailable(e)),
        }
        self.ready
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&fresh);
        self.ensure(&fresh).await?;
        if let Some(task) = self.add(&fresh, &docs).await? {
            self.wait(task).await?;
        }
        self.ensure(&uid).await?;
        let task = self
            .client
            .swap_indexes([&SwapIndexes {
                indexes: (uid.clone(), fresh.clone()),
                rename: None,
            }])
            .await
            .map_err(unavailable)?;
        self.wait(task).await?;
        let task = self
            .client
            .delete_index(&fresh)
            .await
            .map_err(unavailable)?;
        self.wait(task).await?;
        self.ready
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&fresh);
        self.mark_seen(tenant);
        Ok(())
    }

    async fn run_search(
        &self,
        tenant: &str,
        req: SearchRequest,
    ) -> Result<SearchResults, SearchError> {
        let uid = self.uid(tenant);
        let l = lang(&req.locale);
        let attributes = [format!("{l}_title"), format!("{l}_text")];
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
        let locales: Vec<&str> = meili_locale(&req.locale).into_iter().collect();
        let mut parts = vec![format!("locale = {}", quoted(&req.locale))];
        if !req.types.is_empty() {
            parts.push(filter_expression(&SearchFilter::AnyOf {
                field: "type".into(),
                values: req.types.clone(),
            }));
        }
        if let Some(f) = &req.filter {
            parts.push(filter_expression(f));
        }
        let filter = parts.join(" AND ");
        let facets: Vec<String> = req.facets.iter().map(|f| attribute(f)).collect();
        let facets: Vec<&str> = facets.iter().map(String::as_str).collect();
        let query = query_text(&req.terms);
        let limit = req.limit.max(1);
        let index = self.client.index(&uid);
        let mut q = index.search();
        q.with_query(&query)
            .with_filter(&filter)
            .with_attributes_to_search_on(&attributes)
            .with_matching_strategy(MatchingStrategies::ALL)
            .with_show_ranking_score(true);
        if !locales.is_empty() {
            q.with_locales(&locales);
        }
        if !facets.is_empty() {
            q.with_facets(Selectors::Some(&facets));
        }
        let skip = if req.offset.is_multiple_of(limit) {
            q.with_page(req.offset / limit + 1)
                .with_hits_per_page(limit);
            0
        } else {
            q.with_page(1).with_hits_per_page(req.offset + limit);
            req.offset
        };
        let results = match q.execute::<Document>().await {
            Ok(r) => r,
            Err(e) if index_missing(&e) => {
                let seen = self
                    .seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(tenant);
                // Never created: nothing published yet. Gone after use: an outage.
                return if seen {
                    Err(unavailable(e))
                } else {
                    Ok(SearchResults::default())
                };
            }
            Err(e) => return Err(unavailable(e)),
        };
        let hits = results
            .hits
            .into_iter()
            .skip(skip)
            .map(|h| Hit {
                entry_id: h.result.entry_id,
                entry_type: h.result.entry_type,
                score: h.ranking_score.unwrap_or(0.0) as f32,
                title: h.result.title,
                texts: h
                    .result
                    .texts
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                    .collect(),
            })
            .collect();
        let distribution = results.facet_distribution.unwrap_or_default();
        let facets = req
            .facets
            .iter()
            .map(|name| {
                let mut values: Vec<(String, u64)> = distribution
                    .get(&attribute(name))
                    .map(|m| m.iter().map(|(v, n)| (v.clone(), *n as u64)).collect())
                    .unwrap_or_default();
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                (name.clone(), values)
            })
            .collect();
        Ok(SearchResults {
            matching: Matching::ALL,
            total: results
                .total_hits
                .or(results.estimated_total_hits)
                .unwrap_or(0),
            hits,
            facets,
        })
    }
}

impl SearchBackend for Meili {
    fn name(&self) -> &'static str {
        "meilisearch"
    }

    fn shared(&self) -> bool {
        true
    }

    fn apply<'a>(
        &'a self,
        tenant: &'a str,
        ops: Vec<IndexOp>,
    ) -> BoxFuture<'a, Result<(), SearchError>> {
        Box::pin(self.apply_ops(tenant, ops))
    }

    fn rebuild<'a>(
        &'a self,
        tenant: &'a str,
        docs: Vec<SearchDoc>,
    ) -> BoxFuture<'a, Result<(), SearchError>> {
        Box::pin(self.rebuild_index(tenant, docs))
    }

    fn search<'a>(
        &'a self,
        tenant: &'a str,
        req: SearchRequest,
    ) -> BoxFuture<'a, Result<SearchResults, SearchError>> {
        Box::pin(self.run_search(tenant, req))
    }

    fn healthy<'a>(&'a self, tenant: &'a str) -> BoxFuture<'a, Result<bool, SearchError>> {
        Box::pin(async move {
            let uid = self.uid(tenant);
            match self.client.get_index(&uid).await {
                // The first look in a process also corrects drifted settings.
                Ok(_) => self.ensure(&uid).await.map(|()| true),
                Err(e) if index_missing(&e) => Ok(false),
                Err(e) => Err(unavailable(e)),
            }
        })
    }

    fn reachable(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move { self.client.is_healthy().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_quoted_and_nested() {
        let f = SearchFilter::And(vec![
            SearchFilter::AnyOf {
                field: "city".into(),
                values: vec!["مراكش".into(), "a \"b\" \\ c".into()],
            },
            SearchFilter::Or(vec![
                SearchFilter::DateRange {
                    field: "startsAt".into(),
                    gte: Some(1),
                    lt: Some(2),
                },
                SearchFilter::AnyOf {
                    field: "type".into(),
                    values: vec!["event".into()],
                },
            ]),
        ]);
        assert_eq!(
            filter_expression(&f),
            r#"(attrs.city IN ["مراكش", "a \"b\" \\ c"] AND ((dates.startsAt >= 1 AND dates.startsAt < 2) OR type IN ["event"]))"#
        );
    }

    #[test]
    fn documents_carry_analyzed_fields_named_for_their_language() {
        let d = SearchDoc {
            entry_id: "01J/x".into(),
            entry_type: "article".into(),
            locale: "ar".into(),
            title: "معرض الصناعة التقليدية بمراكش".into(),
            texts: vec![("body".into(), "تعاونيات".into())],
            attrs: vec![("city".into(), "مراكش".into())],
            dates: BTreeMap::from([("publishedAt".into(), 5)]),
            published_at: 5,
        };
        let doc = serde_json::to_value(to_document(&d)).unwrap_or_default();
        assert_eq!(doc["id"], "01J_x_ar");
        assert_eq!(doc["attrs"]["city"][0], "مراكش");
        let title = doc["ar_title"].as_str().unwrap_or_default();
        // `بمراكش` is also indexed as `مراكش`.
        assert!(title.split(' ').any(|w| w == "مراكش"), "{title}");
        assert!(
            doc["ar_text"]
                .as_str()
                .unwrap_or_default()
                .contains("تعاون")
        );
        assert_eq!(lang("fr-MA"), "fr");
        assert_eq!(lang("tzm"), "xx");
    }

    #[test]
    fn drift_ignores_list_order_but_not_values() {
        let keys = ["filterableAttributes", "rankingRules"];
        let a = json!({"filterableAttributes": ["a", "b"], "rankingRules": ["x", "y"]});
        let b = json!({"filterableAttributes": ["b", "a"], "rankingRules": ["x", "y"], "other": 1});
        let c = json!({"filterableAttributes": ["a", "b"], "rankingRules": ["y", "x"]});
        assert_eq!(comparable(&a, &keys), comparable(&b, &keys));
        assert_ne!(comparable(&a, &keys), comparable(&c, &keys));
    }
}
