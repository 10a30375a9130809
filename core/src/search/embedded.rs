//! The embedded backend (the default): one tantivy index per tenant under
//! `data_dir/search/<tenant id>`, with the Arabic/French analyzer as its tokenizer. A tenant's
//! query opens only that tenant's index, so no query can see another tenant's documents.
//!
//! Documents: `entry_id`, `type`, `locale` (raw terms), `title` (stored for display), `text`
//! (the analyzed words of every searchable field, and the title's once more, each term written
//! `<locale>:<word>`), `texts` (stored JSON of the searchable fields, for highlighting),
//! `attrs` (facets `/<field>/<value>` of the filterable text fields and `/type/<type>`, used for
//! filters and facet counts) and one i64 fast field per filterable date (`publishedAt`,
//! `startsAt`, `endsAt`).

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::analyzer;
use super::facets::{FacetCache, FacetCounter};
use super::{
    Hit, IndexOp, Matching, SearchBackend, SearchDoc, SearchError, SearchFilter, SearchRequest,
    SearchResults,
};

/// Date fields kept as fast fields (the filterable dates of the built-in types).
pub const DATE_FIELDS: [&str; 3] = ["publishedAt", "startsAt", "endsAt"];
/// The layout of the index this build reads and writes, recorded in [`FORMAT_FILE`] beside
/// tantivy's `meta.json`. An index written by a build of another layout is reported unhealthy
/// (the indexer then rebuilds it from the database) and replaced when it is created again.
/// It also changes with the analysis: "3" indexes a symbol that spells a word (﷼) as the word.
const FORMAT: &str = "3";
const FORMAT_FILE: &str = "zellige-format";
/// Memory of one tenant's index writer.
const WRITER_BYTES: usize = 20_000_000;
/// How long a tenant's index writer stays open after its last batch. An open writer keeps its
/// term table (4 MiB, written through at creation) and first arena page resident, and
/// threads of its own: an import keeps it busy, a tenant whose editors write a few times an
/// hour need not hold it (see [`Embedded::close_idle_writers`]).
pub const WRITER_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

struct Fields {
    entry_id: Field,
    entry_type: Field,
    locale: Field,
    title: Field,
    text: Field,
    texts: Field,
    attrs: Field,
    dates: [Field; 3],
}

/// What one pass of a search collects: the exact count, the page (score and address) and the
/// facet counts when asked.
type Pass = (
    usize,
    Vec<(f32, tantivy::DocAddress)>,
    Vec<(String, Vec<(String, u64)>)>,
);

/// Values counted per facet at most.
const FACET_VALUES: usize = 50;

/// A search whose words as typed find fewer entries than this is run again with one typo
/// forgiven in longer words (the rule of Typesense's `typo_tokens_threshold`, with a page's worth
/// rather than one).
const TYPOS_BELOW: usize = 10;

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Pre-tokenized (see `words`): no tokenizer runs on it. No positions either: nothing
    // searches phrases.
    let analyzed = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        entry_id: b.add_text_field("entry_id", STRING | STORED),
        entry_type: b.add_text_field("type", STRING | STORED),
        locale: b.add_text_field("locale", STRING),
        title: b.add_text_field("title", STORED),
        text: b.add_text_field("text", analyzed),
        texts: b.add_text_field("texts", STORED),
        attrs: b.add_facet_field("attrs", FacetOptions::default()),
        dates: DATE_FIELDS.map(|name| b.add_i64_field(name, INDEXED | FAST | STORED)),
    };
    (b.build(), fields)
}

/// A word of the index: the analyzed term in its document's locale. The same word in two
/// locales is two terms, so a search reads only its locale's postings (no locale filter to
/// intersect with every match) and weighs a word by how rare it is in that language.
fn term(f: &Fields, locale: &str, word: &str) -> Term {
    Term::from_field_text(f.text, &term_text(locale, word))
}

/// The text of a word's term in a locale (see [`term`]).
fn term_text(locale: &str, word: &str) -> String {
    format!("{locale}:{word}")
}

/// The indexed words of a text in a locale. Each word gives its stemmed term and, at the same
/// position, its unstemmed form (prefixes removed only), so that a half-typed last word can
/// match as a prefix of what was written rather than of the stem, and its reading without a
/// proclitic (`analyzer::proclitic_variant`).
fn words(locale: &str, text: &str) -> PreTokenizedString {
    let mut tokens = Vec::new();
    for t in analyzer::analyze(text) {
        let token = |word: &str| Token {
            offset_from: t.offset_from,
            offset_to: t.offset_to,
            position: t.position,
            text: term_text(locale, word),
            position_length: 1,
        };
        let unstemmed = analyzer::strip_prefixes(&text[t.offset_from..t.offset_to]);
        let variant = analyzer::proclitic_variant(&t.text);
        tokens.push(token(&t.text));
        if !unstemmed.is_empty() && unstemmed != t.text {
            tokens.push(token(&unstemmed));
        }
        if let Some(v) = variant {
            tokens.push(token(&v));
        }
    }
    // The text itself is neither stored nor highlighted from here (`texts` is).
    PreTokenizedString {
        text: String::new(),
        tokens,
    }
}

struct TenantIndex {
    index: Index,
    reader: IndexReader,
    /// The writer, opened by the first batch and closed when idle, with its last use.
    writer: Mutex<Option<(IndexWriter<TantivyDocument>, std::time::Instant)>>,
    fields: Fields,
    dir: PathBuf,
    /// Whether the index is of this build's layout and complete: false from its creation until
    /// its first rebuild commits (searches answer `SEARCH_UNAVAILABLE` meanwhile, rather than
    /// nothing).
    ready: std::sync::atomic::AtomicBool,
    /// Facet tables of the segments searched with facets.
    facets: FacetCache,
}

/// Per-tenant tantivy indexes under one directory.
pub struct Embedded {
    root: PathBuf,
    open: Mutex<HashMap<String, Arc<TenantIndex>>>,
    /// Tenants whose index this process has opened: one that disappears afterwards is an
    /// outage (`SEARCH_UNAVAILABLE`), not a tenant with nothing published yet.
    seen: Mutex<std::collections::HashSet<String>>,
}

/// Whether `dir` holds an index of this build's layout.
fn current(dir: &Path) -> bool {
    dir.join("meta.json").is_file()
        && std::fs::read_to_string(dir.join(FORMAT_FILE)).is_ok_and(|f| f.trim() == FORMAT)
}

fn unavailable(e: impl std::fmt::Display) -> SearchError {
    SearchError::Unavailable(e.to_string())
}

impl Embedded {
    pub fn new(root: impl Into<PathBuf>) -> Embedded {
        Embedded {
            root: root.into(),
            open: Mutex::default(),
            seen: Mutex::default(),
        }
    }

    fn dir(&self, tenant: &str) -> PathBuf {
        self.root.join(tenant)
    }

    /// The tenant's index, opened (or created when `create`) on first use. An index whose
    /// directory disappeared is dropped, so the next use fails (or recreates it).
    /// Whether the tenant's index is open in this process (searching it reads no files).
    fn is_open(&self, tenant: &str) -> bool {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(tenant)
    }

    fn index(&self, tenant: &str, create: bool) -> Result<Arc<TenantIndex>, SearchError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ix) = open.get(tenant) {
            if ix.dir.join("meta.json").is_file() {
                if !create && !ix.ready.load(std::sync::atomic::Ordering::Acquire) {
                    return Err(SearchError::Unavailable(
                        "the index of this tenant is being rebuilt".into(),
                    ));
                }
                return Ok(ix.clone());
            }
            open.remove(tenant);
        }
        let dir = self.dir(tenant);
        let ready = current(&dir);
        if !ready && !create {
            return Err(SearchError::Unavailable(format!(
                "the index of this tenant is missing at {} (or of an older layout, to be rebuilt)",
                dir.display()
            )));
        }
        // An index of another layout is replaced, and not ready until the caller has rebuilt
        // it whole; a new one is ready (empty: nothing was published yet).
        let replaced = !ready && dir.join("meta.json").is_file();
        if replaced {
            std::fs::remove_dir_all(&dir).map_err(unavailable)?;
        }
        std::fs::create_dir_all(&dir).map_err(unavailable)?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(&dir).map_err(unavailable)?;
        let index = Index::open_or_create(directory, schema).map_err(unavailable)?;
        if !ready && !replaced {
            std::fs::write(dir.join(FORMAT_FILE), FORMAT).map_err(unavailable)?;
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(unavailable)?;
        let ix = Arc::new(TenantIndex {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
            dir,
            ready: (!replaced).into(),
            facets: FacetCache::default(),
        });
        open.insert(tenant.to_owned(), ix.clone());
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(tenant.to_owned());
        Ok(ix)
    }

    fn to_document(f: &Fields, d: &SearchDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(f.entry_id, &d.entry_id);
        doc.add_text(f.entry_type, &d.entry_type);
        doc.add_text(f.locale, &d.locale);
        doc.add_text(f.title, &d.title);
        // The title's words count twice: a word of the title weighs more than one of the body.
        doc.add_pre_tokenized_text(f.text, words(&d.locale, &d.title));
        for (_, t) in &d.texts {
            doc.add_pre_tokenized_text(f.text, words(&d.locale, t));
        }
        let texts: serde_json::Map<String, serde_json::Value> = d
            .texts
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
            .collect();
        doc.add_text(f.texts, serde_json::Value::Object(texts).to_string());
        doc.add_facet(f.attrs, Facet::from_path(["type", d.entry_type.as_str()]));
        for (k, v) in &d.attrs {
            doc.add_facet(f.attrs, Facet::from_path([k.as_str(), v.as_str()]));
        }
        for (i, name) in DATE_FIELDS.iter().enumerate() {
            if let Some(ms) = d.dates.get(*name) {
                doc.add_i64(f.dates[i], *ms);
            }
        }
        doc
    }

    /// Runs `f` with the tenant's index writer, opening it first when it is closed.
    fn with_writer<R>(
        ix: &TenantIndex,
        f: impl FnOnce(&mut IndexWriter<TantivyDocument>) -> Result<R, SearchError>,
    ) -> Result<R, SearchError> {
        let mut slot = ix
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (writer, used) = match slot.take() {
            Some(open) => open,
            None => (
                ix.index
                    .writer_with_num_threads(1, WRITER_BYTES)
                    .map_err(unavailable)?,
                std::time::Instant::now(),
            ),
        };
        let (writer, _) = slot.insert((writer, used));
        let out = f(writer);
        if out.is_err() {
            // What the failed batch added is dropped with the writer (never committed); the
            // next batch opens a fresh one.
            slot.take();
        } else if let Some((_, used)) = slot.as_mut() {
            *used = std::time::Instant::now();
        }
        out
    }

    /// Closes the writers that have not been used for `idle` (waiting for their merges), so
    /// that tenants without writes hold no indexing memory. Called by the indexer between
    /// passes; a writer in use is left alone.
    pub fn close_idle_writers(&self, idle: std::time::Duration) {
        let open: Vec<Arc<TenantIndex>> = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for ix in open {
            let Ok(mut slot) = ix.writer.try_lock() else {
                continue;
            };
            if slot
                .as_ref()
                .is_some_and(|(_, used)| used.elapsed() >= idle)
                && let Some((writer, _)) = slot.take()
                && let Err(e) = writer.wait_merging_threads()
            {
                tracing::warn!(index = %ix.dir.display(), error = %e, "closing an idle index writer");
            }
        }
    }

    /// Whether the tenant's index writer is open (for tests of [`Self::close_idle_writers`]).
    pub fn writer_open(&self, tenant: &str) -> bool {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(tenant)
            .is_some_and(|ix| {
                ix.writer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .is_some()
            })
    }

    fn apply_blocking(&self, tenant: &str, ops: Vec<IndexOp>) -> Result<(), SearchError> {
        let ix = self.index(tenant, true)?;
        Self::with_writer(&ix, |writer| {
            for op in ops {
                match op {
                    IndexOp::Upsert { entry_id, docs } => {
                        writer.delete_term(Term::from_field_text(ix.fields.entry_id, &entry_id));
                        for d in &docs {
                            writer
                                .add_document(Self::to_document(&ix.fields, d))
                                .map_err(unavailable)?;
                        }
                    }
                    IndexOp::Delete { entry_id } => {
                        writer.delete_term(Term::from_field_text(ix.fields.entry_id, &entry_id));
                    }
                    IndexOp::DeleteType { entry_type } => {
                        writer
                            .delete_term(Term::from_field_text(ix.fields.entry_type, &entry_type));
                    }
                }
            }
            writer.commit().map_err(unavailable).map(drop)
        })?;
        Self::reload(&ix)
    }

    /// Makes the last commit searchable and drops the facet tables of the segments it
    /// replaced.
    fn reload(ix: &TenantIndex) -> Result<(), SearchError> {
        ix.reader.reload().map_err(unavailable)?;
        ix.facets.retain(&ix.reader.searcher());
        Ok(())
    }

    fn rebuild_blocking(&self, tenant: &str, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        let ix = self.index(tenant, true)?;
        Self::with_writer(&ix, |writer| {
            writer.delete_all_documents().map_err(unavailable)?;
            for d in &docs {
                writer
                    .add_document(Self::to_document(&ix.fields, d))
                    .map_err(unavailable)?;
            }
            writer.commit().map_err(unavailable).map(drop)
        })?;
        Self::reload(&ix)?;
        // Complete and of this layout from now on (see `current`).
        if !ix.ready.load(std::sync::atomic::Ordering::Acquire) {
            std::fs::write(ix.dir.join(FORMAT_FILE), FORMAT).map_err(unavailable)?;
            ix.ready.store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(())
    }

    fn filter_query(f: &Fields, filter: &SearchFilter) -> Box<dyn Query> {
        match filter {
            SearchFilter::AnyOf { field, values } => {
                let any: Vec<(Occur, Box<dyn Query>)> = values
                    .iter()
                    .map(|v| {
                        let term = Term::from_facet(
                            f.attrs,
                            &Facet::from_path([field.as_str(), v.as_str()]),
                        );
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(term, IndexRecordOption::Basic))
                                as Box<dyn Query>,
                        )
                    })
                    .collect();
                Box::new(BooleanQuery::new(any))
            }
            SearchFilter::DateRange { field, gte, lt } => {
                let Some(i) = DATE_FIELDS.iter().position(|d| d == field) else {
                    return Box::new(tantivy::query::EmptyQuery);
                };
                let lower = gte.map_or(Bound::Unbounded, |v| {
                    Bound::Included(Term::from_field_i64(f.dates[i], v))
                });
                let upper = lt.map_or(Bound::Unbounded, |v| {
                    Bound::Excluded(Term::from_field_i64(f.dates[i], v))
                });
                Box::new(RangeQuery::new(lower, upper))
            }
            SearchFilter::And(parts) => Box::new(BooleanQuery::new(
                parts
                    .iter()
                    .map(|p| (Occur::Must, Self::filter_query(f, p)))
                    .collect(),
            )),
            SearchFilter::Or(parts) => Box::new(BooleanQuery::new(
                parts
                    .iter()
                    .map(|p| (Occur::Should, Self::filter_query(f, p)))
                    .collect(),
            )),
        }
    }

    /// One term of the query in the text of the search's locale: exact or a synonym
    /// ([`super::synonyms`]), with one typo in longer words when `typos`, and as a prefix for
    /// the last term (as-you-type). A plain word is a lone term query, which tantivy can prune
    /// (block-max WAND) when it is all the query is, or intersect with other words' terms.
    ///
    /// Weights: the exact word 1, its synonyms and proclitic reading 0.75, a prefix 0.5 (a
    /// constant score), a typo 0.25.
    fn term_query(
        f: &Fields,
        req: &SearchRequest,
        word: &str,
        last: bool,
        typos: bool,
        halfway: bool,
    ) -> Box<dyn Query> {
        let distance = analyzer::fuzzy_distance(word);
        let t = term(f, &req.locale, word);
        let exact: Box<dyn Query> =
            Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs));
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for other in super::synonyms::of(word)
            .iter()
            .cloned()
            .chain(analyzer::proclitic_variant(word))
        {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                term(f, &req.locale, &other),
                IndexRecordOption::WithFreqs,
            ));
            alternatives.push((Occur::Should, Box::new(BoostQuery::new(q, 0.75))));
        }
        // As-you-type: a last word that is not an indexed term yet is typed halfway. One that
        // is already meets its other forms through the stem, and expanding it (every term it
        // begins) would visit most of the index for a common word.
        if last && halfway {
            let q: Box<dyn Query> = Box::new(FuzzyTermQuery::new_prefix(t.clone(), 0, true));
            alternatives.push((Occur::Should, Box::new(BoostQuery::new(q, 0.5))));
            if let Some(p) = req.prefix.as_deref().filter(|p| *p != word) {
                let q: Box<dyn Query> =
                    Box::new(FuzzyTermQuery::new_prefix(term(f, &req.locale, p), 0, true));
                alternatives.push((Occur::Should, Box::new(BoostQuery::new(q, 0.5))));
            }
        }
        // The edit may fall on the locale in front of the word (`ar:` → `fr:`): the typo
        // pass filters on the locale (see `run`).
        if typos && distance > 0 {
            let fuzzy: Box<dyn Query> = if last {
                Box::new(FuzzyTermQuery::new_prefix(t, distance, true))
            } else {
                Box::new(FuzzyTermQuery::new(t, distance, true))
            };
            alternatives.push((Occur::Should, Box::new(BoostQuery::new(fuzzy, 0.25))));
        }
        if alternatives.is_empty() {
            return exact;
        }
        alternatives.push((Occur::Should, exact));
        Box::new(BooleanQuery::new(alternatives))
    }

    /// One pass of a search: the query (with or without typos), its exact count, the page and
    /// the facet counts (only when asked: counting visits every match's attributes).
    ///
    /// Without facets, typos or prefixes, the count and the page are two passes: tantivy counts
    /// a lone term from its document frequency and an intersection without scoring, and finds
    /// the page of a query made only of words with block-max pruning; one pass feeding both
    /// would score every match.
    fn run(
        searcher: &tantivy::Searcher,
        ix: &TenantIndex,
        req: &SearchRequest,
        typos: bool,
        halfway: bool,
    ) -> Result<Pass, SearchError> {
        let f = &ix.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let n = req.terms.len();
        for (i, word) in req.terms.iter().enumerate() {
            must.push((
                Occur::Must,
                Self::term_query(f, req, word, i + 1 == n, typos, halfway),
            ));
        }
        // Filters select and do not score (a constant 0 rather than BM25 of a type every
        // candidate shares).
        let filter = |q: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
            (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
        };
        // The words select the locale; without words (or with typos) a filter does.
        if typos || req.terms.is_empty() {
            must.push(filter(Box::new(TermQuery::new(
                Term::from_field_text(f.locale, &req.locale),
                IndexRecordOption::Basic,
            ))));
        }
        if !req.types.is_empty() {
            must.push(filter(Self::filter_query(
                f,
                &SearchFilter::AnyOf {
                    field: "type".into(),
                    values: req.types.clone(),
                },
            )));
        }
        if let Some(where_) = &req.filter {
            must.push(filter(Self::filter_query(f, where_)));
        }
        let query: Box<dyn Query> = match must.len() {
            1 => must.remove(0).1,
            _ => Box::new(BooleanQuery::new(must)),
        };
        let top = TopDocs::with_limit(req.limit.max(1))
            .and_offset(req.offset)
            .order_by_score();
        let counter = FacetCounter {
            cache: &ix.facets,
            attributes: &req.facets,
            limit: FACET_VALUES,
        };
        // Facet counts visit every match, so the top hits are kept in that same pass, except
        // for a lone word: its top hits skip blocks (block-max pruning) in a pass of their
        // own, and its matches are counted without scores. Without facets a count alone is
        // cheap and the top hits alone can skip blocks, so two passes beat one, except where
        // typos and prefixes walk the term dictionary for each pass.
        let (total, top, facets) = if !req.facets.is_empty() && query.is::<TermQuery>() {
            let (total, facets) = searcher.search(&query, &counter).map_err(unavailable)?;
            let top = searcher.search(&query, &top).map_err(unavailable)?;
            (total, top, facets)
        } else if !req.facets.is_empty() {
            let (top, (total, facets)) = searcher
                .search(&query, &(top, counter))
                .map_err(unavailable)?;
            (total, top, facets)
        } else if typos || halfway {
            let (total, top) = searcher
                .search(&query, &(Count, top))
                .map_err(unavailable)?;
            (total, top, Vec::new())
        } else {
            (
                searcher.search(&query, &Count).map_err(unavailable)?,
                searcher.search(&query, &top).map_err(unavailable)?,
                Vec::new(),
            )
        };
        Ok((total, top, facets))
    }

    fn search_blocking(
        &self,
        tenant: &str,
        req: SearchRequest,
    ) -> Result<SearchResults, SearchError> {
        let ix = match self.index(tenant, false) {
            Ok(ix) => ix,
            // A tenant whose index was never created has nothing published yet.
            Err(_)
                if !self.dir(tenant).exists()
                    && !self
                        .seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .contains(tenant) =>
            {
                return Ok(SearchResults::default());
            }
            Err(e) => return Err(e),
        };
        let f = &ix.fields;
        let searcher = ix.reader.searcher();
        // A last word that is not a term of the index is being typed (see `term_query`).
        let halfway = req.terms.last().is_some_and(|last| {
            searcher
                .doc_freq(&term(f, &req.locale, last))
                .is_ok_and(|n| n == 0)
        });
        // Typos are forgiven only when the words as typed find too few entries: a common word
        // spelled right would otherwise also match every indexed word one edit away from it
        // (noise ranked below the real matches, and a union over many posting lists).
        let (mut total, mut top, mut facets) = Self::run(&searcher, &ix, &req, false, halfway)?;
        let typo_tolerant = req.terms.iter().any(|t| analyzer::fuzzy_distance(t) > 0);
        let typos = total < TYPOS_BELOW && typo_tolerant;
        if typos {
            (total, top, facets) = Self::run(&searcher, &ix, &req, true, halfway)?;
        }
        // The unstemmed last word is looked up as a prefix when it differs from the stem.
        let prefix = halfway
            && req
                .terms
                .last()
                .is_some_and(|last| req.prefix.as_deref().is_some_and(|p| p != last));
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(unavailable)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            let texts: Vec<(String, String)> =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text(f.texts))
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                    .collect();
            let published = doc
                .get_first(f.dates[0])
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            hits.push((
                published,
                Hit {
                    entry_id: text(f.entry_id),
                    entry_type: text(f.entry_type),
                    score,
                    title: text(f.title),
                    texts,
                },
            ));
        }
        // Relevance first, then the newest.
        hits.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(b.0.cmp(&a.0)));
        Ok(SearchResults {
            matching: Matching { typos, prefix },
            total,
            hits: hits.into_iter().map(|(_, h)| h).collect(),
            facets,
        })
    }
}

impl SearchBackend for Arc<Embedded> {
    fn apply<'a>(
        &'a self,
        tenant: &'a str,
        ops: Vec<IndexOp>,
    ) -> BoxFuture<'a, Result<(), SearchError>> {
        let this = self.clone();
        let tenant = tenant.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || this.apply_blocking(&tenant, ops))
                .await
                .map_err(unavailable)?
        })
    }

    fn rebuild<'a>(
        &'a self,
        tenant: &'a str,
        docs: Vec<SearchDoc>,
    ) -> BoxFuture<'a, Result<(), SearchError>> {
        let this = self.clone();
        let tenant = tenant.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || this.rebuild_blocking(&tenant, docs))
                .await
                .map_err(unavailable)?
        })
    }

    fn search<'a>(
        &'a self,
        tenant: &'a str,
        req: SearchRequest,
    ) -> BoxFuture<'a, Result<SearchResults, SearchError>> {
        Box::pin(async move {
            // On the calling task, not the blocking pool, once the index is open: a search is
            // CPU work of a fraction of a millisecond (its words and length are bounded by
            // `limits.search_words` and `limits.search_query_chars`), and the hand-off to a
            // pool thread and back cost about a seventh of a search request's CPU
            // (`bench/README.md`). It also bounds the searches running at once by the
            // runtime's workers, where the pool would start a thread each. Opening an index
            // reads files, so the first search of a tenant goes to the pool.
            if self.is_open(tenant) {
                return self.search_blocking(tenant, req);
            }
            let this = self.clone();
            let tenant = tenant.to_owned();
            tokio::task::spawn_blocking(move || this.search_blocking(&tenant, req))
                .await
                .map_err(unavailable)?
        })
    }

    fn healthy<'a>(&'a self, tenant: &'a str) -> BoxFuture<'a, Result<bool, SearchError>> {
        let dir = self.dir(tenant);
        Box::pin(async move { Ok(current(&dir)) })
    }

    fn reachable(&self) -> BoxFuture<'_, bool> {
        let root = self.root.clone();
        Box::pin(async move { std::fs::create_dir_all(&root).is_ok() && root.is_dir() })
    }

    fn name(&self) -> &'static str {
        "embedded"
    }

    fn shared(&self) -> bool {
        false
    }

    fn release_idle(&self) -> BoxFuture<'_, ()> {
        let this = self.clone();
        Box::pin(async move {
            let _ = tokio::task::spawn_blocking(move || this.close_idle_writers(WRITER_IDLE)).await;
        })
    }
}

/// This data directory's node id (created on first use): the embedded index is node-local, so
/// its outbox position is this node's own.
pub fn node_id(root: &Path) -> std::io::Result<String> {
    let path = root.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        _ => {
            std::fs::create_dir_all(root)?;
            let id = uuid::Uuid::now_v7().simple().to_string();
            // Written whole then renamed, so a crash never leaves half an id.
            let tmp = root.join("node-id.tmp");
            std::fs::write(&tmp, &id)?;
            std::fs::rename(&tmp, &path)?;
            Ok(id)
        }
    }
}

/// Where the embedded indexes live.
pub fn default_root(data_dir: &Path) -> PathBuf {
    data_dir.join("search")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn doc(id: usize, body: &str) -> SearchDoc {
        SearchDoc {
            entry_id: format!("e{id}"),
            entry_type: "article".into(),
            locale: "ar".into(),
            title: format!("خبر {id}"),
            texts: vec![("body".into(), body.into())],
            attrs: Vec::new(),
            dates: BTreeMap::new(),
            published_at: i64::try_from(id).unwrap_or(0),
        }
    }

    fn request(query: &str) -> SearchRequest {
        let (terms, prefix) = super::super::query_terms(query);
        SearchRequest {
            terms,
            prefix,
            types: Vec::new(),
            locale: "ar".into(),
            filter: None,
            facets: Vec::new(),
            offset: 0,
            limit: 50,
        }
    }

    fn ids(results: &SearchResults) -> Vec<String> {
        results.hits.iter().map(|h| h.entry_id.clone()).collect()
    }

    /// A word that enough entries contain as typed is not widened to the words one edit away;
    /// a misspelt word (and a word too rare to fill a page) still finds them.
    #[test]
    fn typos_are_forgiven_only_when_the_words_as_typed_find_too_few() {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = Embedded::new(dir.path());
        let mut ops: Vec<IndexOp> = (0..TYPOS_BELOW)
            .map(|i| IndexOp::Upsert {
                entry_id: format!("e{i}"),
                docs: vec![doc(i, "Festival des arts de Marrakech")],
            })
            .collect();
        // One edit away from Marrakech.
        ops.push(IndexOp::Upsert {
            entry_id: "other".into(),
            docs: vec![SearchDoc {
                entry_id: "other".into(),
                ..doc(99, "Hôtel Marakech")
            }],
        });
        ops.push(IndexOp::Upsert {
            entry_id: "rare".into(),
            docs: vec![SearchDoc {
                entry_id: "rare".into(),
                ..doc(98, "Atelier de tapisserie")
            }],
        });
        index.apply_blocking("t", ops).expect("apply");

        let common = index
            .search_blocking("t", request("marrakech"))
            .expect("search");
        assert_eq!(common.total, TYPOS_BELOW, "{:?}", ids(&common));
        assert!(!ids(&common).contains(&"other".to_owned()));

        let misspelt = index
            .search_blocking("t", request("tapiserie"))
            .expect("search");
        assert_eq!(ids(&misspelt), ["rare"], "one edit in a longer word");
        let rare = index
            .search_blocking("t", request("Marakech"))
            .expect("search");
        assert!(ids(&rare).contains(&"other".to_owned()));
        assert!(
            rare.total > 1,
            "too few as typed: the typo reading joins in ({:?})",
            ids(&rare)
        );
    }

    /// An idle writer is closed and the next batch opens a new one; nothing is lost between.
    #[test]
    fn idle_writers_are_closed_and_reopened_by_the_next_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = Embedded::new(dir.path());
        let upsert = |id: &str, text: &str| IndexOp::Upsert {
            entry_id: id.into(),
            docs: vec![SearchDoc {
                entry_id: id.into(),
                ..doc(1, text)
            }],
        };
        index
            .apply_blocking("t", vec![upsert("a", "معرض الزليج بمراكش")])
            .expect("apply");
        assert!(index.writer_open("t"));
        index.close_idle_writers(std::time::Duration::from_secs(3600));
        assert!(index.writer_open("t"), "used just now: kept");
        index.close_idle_writers(std::time::Duration::ZERO);
        assert!(!index.writer_open("t"), "idle: closed");
        // Searching needs no writer; the next batch opens one.
        let found = index
            .search_blocking("t", request("الزليج"))
            .expect("search");
        assert_eq!(ids(&found), ["a"]);
        index
            .apply_blocking("t", vec![upsert("b", "زليج فاس")])
            .expect("apply after close");
        assert!(index.writer_open("t"));
        let found = index.search_blocking("t", request("زليج")).expect("search");
        let mut got = ids(&found);
        got.sort();
        assert_eq!(got, ["a", "b"]);
    }

    /// An index written by a build of another layout is never searched: it is unhealthy (so
    /// the indexer rebuilds it), answers `SEARCH_UNAVAILABLE` rather than nothing until the
    /// rebuild commits, and is replaced by it.
    #[test]
    fn an_index_of_another_layout_is_rebuilt_before_it_is_searched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let upsert = |id: &str, text: &str| IndexOp::Upsert {
            entry_id: id.into(),
            docs: vec![SearchDoc {
                entry_id: id.into(),
                ..doc(1, text)
            }],
        };
        Embedded::new(dir.path())
            .apply_blocking("t", vec![upsert("a", "معرض الزليج بمراكش")])
            .expect("apply");
        let tenant_dir = dir.path().join("t");
        assert!(current(&tenant_dir));
        std::fs::write(tenant_dir.join(FORMAT_FILE), "1").expect("older layout");
        assert!(!current(&tenant_dir), "unhealthy: the indexer rebuilds it");

        let index = Embedded::new(dir.path());
        assert!(matches!(
            index.search_blocking("t", request("زليج")),
            Err(SearchError::Unavailable(_))
        ));
        let IndexOp::Upsert { docs, .. } = upsert("b", "زليج فاس") else {
            unreachable!()
        };
        index.rebuild_blocking("t", docs).expect("rebuild");
        assert!(current(&tenant_dir));
        let found = index.search_blocking("t", request("زليج")).expect("search");
        assert_eq!(ids(&found), ["b"], "the rebuilt index only");
    }

    /// A word is a term of its locale: the same word in French documents is not found by an
    /// Arabic search, and counts only its own locale's documents.
    #[test]
    fn words_are_terms_of_their_locale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = Embedded::new(dir.path());
        let ops = (0..4)
            .map(|i| IndexOp::Upsert {
                entry_id: format!("e{i}"),
                docs: vec![
                    doc(i, "Marrakech زليج"),
                    SearchDoc {
                        locale: "fr".into(),
                        ..doc(i, "Marrakech zellige")
                    },
                ],
            })
            .collect();
        index.apply_blocking("t", ops).expect("apply");
        let ar = index
            .search_blocking("t", request("marrakech"))
            .expect("search");
        assert_eq!(ar.total, 4, "one document per entry in the Arabic locale");
        let fr = index
            .search_blocking(
                "t",
                SearchRequest {
                    locale: "fr".into(),
                    ..request("زليج")
                },
            )
            .expect("search");
        assert_eq!(
            fr.total, 0,
            "the Arabic word is not a term of the French documents"
        );
        let all = index
            .search_blocking(
                "t",
                SearchRequest {
                    locale: "fr".into(),
                    ..request("")
                },
            )
            .expect("search");
        assert_eq!(all.total, 4, "no words: every document of the locale");
    }

    /// Facet counts cover the matches of every segment, without the deleted documents, per
    /// requested attribute, the most frequent value first.
    #[test]
    fn facets_count_matches_across_segments_without_deleted_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = Embedded::new(dir.path());
        let at = |id: usize, city: &str| IndexOp::Upsert {
            entry_id: format!("e{id}"),
            docs: vec![SearchDoc {
                attrs: vec![("city".into(), city.into())],
                ..doc(id, "معرض الزليج")
            }],
        };
        // Three batches: three segments.
        index
            .apply_blocking("t", vec![at(1, "مراكش"), at(2, "آسفي")])
            .expect("apply");
        index
            .apply_blocking("t", vec![at(3, "مراكش"), at(4, "مراكش")])
            .expect("apply");
        index
            .apply_blocking(
                "t",
                vec![
                    IndexOp::Delete {
                        entry_id: "e4".into(),
                    },
                    at(5, "الصويرة"),
                ],
            )
            .expect("apply");
        let counted = index
            .search_blocking(
                "t",
                SearchRequest {
                    facets: vec!["city".into(), "type".into()],
                    ..request("معرض")
                },
            )
            .expect("search");
        assert_eq!(counted.total, 4);
        // A lone word's page comes from a pass of its own (see `run`): the same matches.
        let mut found = ids(&counted);
        found.sort();
        assert_eq!(found, ["e1", "e2", "e3", "e5"]);
        assert_eq!(
            counted.facets,
            [
                (
                    "city".to_owned(),
                    vec![
                        ("مراكش".to_owned(), 2),
                        ("آسفي".to_owned(), 1),
                        ("الصويرة".to_owned(), 1)
                    ]
                ),
                ("type".to_owned(), vec![("article".to_owned(), 4)]),
            ]
        );
    }
}
