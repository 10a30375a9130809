//! Entries: create, read, list, update (with `expectedVersion`), delete, publish, unpublish,
//! version history and restore. Every write is one transaction: documents, index rows, a
//! version row and an outbox event, or nothing.

use crate::store::reads::Exec;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::compound;
use super::filter::{self, compile_sort};
use super::model::{ContentType, FieldKind};
use super::values::{self, IndexRow};
use super::{Content, ContentError, TenantModel, slug};
use crate::error::FieldError;
use crate::store::entries::{self as repo, DocRow, IndexBatch, ListQuery, Stage, VersionRow};
use crate::store::is_unique_violation;
use crate::store::outbox::{self, EventKind, NewEvent};
use crate::store::schedules::{self, ScheduleAction};
use crate::tenancy::TenantCtx;
use crate::time::{now_ms, to_rfc3339};

/// Whether an entry is live for readers of published content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Draft,
    Published,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "DRAFT",
            Status::Published => "PUBLISHED",
        }
    }
    pub fn stage(self) -> Stage {
        match self {
            Status::Draft => Stage::Draft,
            Status::Published => Stage::Published,
        }
    }
}

/// An entry as read: one stage of it (the draft or the published copy).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub entry_type: String,
    pub slug: String,
    /// `PUBLISHED` when a published copy exists (the draft may hold newer changes).
    pub status: Status,
    /// Which copy this is.
    pub stage: Stage,
    pub version: i64,
    /// Stored shape: localized fields are objects keyed by locale.
    pub data: Map<String, Value>,
    pub available_locales: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

impl Entry {
    pub(super) fn from_doc(doc: DocRow, stage: Stage) -> Entry {
        Entry {
            id: doc.entry_id,
            entry_type: doc.entry_type,
            slug: doc.slug,
            status: if doc.published_at.is_some() {
                Status::Published
            } else {
                Status::Draft
            },
            stage,
            version: doc.version,
            data: doc.data,
            available_locales: doc.locales,
            created_at: doc.created_at,
            updated_at: doc.updated_at,
            published_at: doc.published_at,
            created_by: doc.created_by,
            updated_by: doc.updated_by,
        }
    }

    /// The entry as JSON for one locale (fallback to the tenant default), with system fields.
    pub fn to_localized_json(&self, ct: &ContentType, locale: &str, default_locale: &str) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), Value::from(self.id.clone()));
        out.insert("type".into(), Value::from(self.entry_type.clone()));
        out.insert("slug".into(), Value::from(self.slug.clone()));
        out.insert("status".into(), Value::from(self.status.as_str()));
        out.insert("version".into(), Value::from(self.version));
        out.insert("locale".into(), Value::from(locale));
        out.insert(
            "availableLocales".into(),
            Value::from(self.available_locales.clone()),
        );
        out.insert("createdAt".into(), Value::from(to_rfc3339(self.created_at)));
        out.insert("updatedAt".into(), Value::from(to_rfc3339(self.updated_at)));
        out.insert(
            "publishedAt".into(),
            self.published_at
                .map(to_rfc3339)
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        out.insert(
            "createdBy".into(),
            self.created_by
                .clone()
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        out.insert(
            "updatedBy".into(),
            self.updated_by
                .clone()
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        for field in &ct.fields {
            let v = self
                .data
                .get(&field.name)
                .and_then(|v| values::localized_value(field, v, locale, default_locale))
                .cloned()
                .unwrap_or(Value::Null);
            out.insert(field.name.clone(), v);
        }
        Value::Object(out)
    }
}

/// What a client sends to create or change an entry.
#[derive(Debug, Clone, Default)]
pub struct EntryInput {
    pub data: Map<String, Value>,
    /// When set, localized fields in `data` are plain values for this locale.
    pub locale: Option<String>,
    pub slug: Option<String>,
    /// Publish the saved draft in the same transaction (needs the `publish` permission).
    pub publish: Option<Publication>,
}

/// A publication asked for with a write: when the entry counts as published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Publication {
    /// The `publishedAt` readers see, in ms since the epoch; now when `None`. Editors set it
    /// to keep an article's original date (imports, corrections); it cannot lie in the future
    /// (that is a scheduled publish).
    pub at: Option<i64>,
}

impl Publication {
    /// What a write's `publish` and `publishedAt` ask for; a date without `publish` is a
    /// mistake worth naming rather than ignoring.
    pub fn requested(publish: bool, at: Option<i64>) -> Result<Option<Publication>, ContentError> {
        match (publish, at) {
            (false, Some(_)) => Err(ContentError::invalid(
                "publishedAt",
                "requires",
                "publishedAt is set with `publish: true`",
            )),
            (false, None) => Ok(None),
            (true, at) => Ok(Some(Publication { at })),
        }
    }

    /// Parses a client's `publishedAt` (RFC 3339, any offset).
    pub fn parse_at(s: &str) -> Result<i64, ContentError> {
        crate::time::parse_rfc3339(s).ok_or_else(|| {
            ContentError::invalid(
                "publishedAt",
                "format",
                "an RFC 3339 date and time, e.g. 2026-03-01T09:00:00Z",
            )
        })
    }
}

/// How far ahead of this server's clock a `publishedAt` may be (clocks of clients drift).
const PUBLISHED_AT_SKEW_MS: i64 = 60_000;

fn check_publication(publication: Option<Publication>, now: i64) -> Result<(), ContentError> {
    match publication.and_then(|p| p.at) {
        Some(at) if at > now + PUBLISHED_AT_SKEW_MS => Err(ContentError::invalid(
            "publishedAt",
            "past",
            "publishedAt must not lie in the future; schedule the publication instead",
        )),
        _ => Ok(()),
    }
}

/// How to find one entry.
#[derive(Debug, Clone)]
pub enum Lookup {
    Id(String),
    Slug(String),
}

/// List arguments (Relay-style).
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub filter: Option<Value>,
    /// (field, descending)
    pub order_by: Vec<(String, bool)>,
    pub first: Option<u64>,
    pub after: Option<String>,
    pub last: Option<u64>,
    pub before: Option<String>,
    pub locale: Option<String>,
    /// Only entries this account created: an author reads its own drafts only.
    pub owner: Option<String>,
    /// The answer will not say whether there are more pages (a GraphQL selection without
    /// `pageInfo`): the row past the page, read only to know that, is not read.
    pub without_page_info: bool,
}

/// Most groups an aggregate answers.
pub const GROUPS_MAX: u64 = 1_000;
/// Most fields an aggregate groups by.
pub const GROUP_KEYS_MAX: usize = 3;

/// One group of an aggregate: the values of the `groupBy` fields (`None`: no value) and how
/// many entries have them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub keys: Vec<Option<String>>,
    pub count: i64,
}

/// Whether entries can be counted per value of a field: an indexed field whose index values
/// are the values themselves.
pub fn groupable(f: &super::model::FieldDef) -> bool {
    f.is_indexed()
        && matches!(
            f.kind,
            FieldKind::String
                | FieldKind::Enum(_)
                | FieldKind::Boolean
                | FieldKind::Date
                | FieldKind::Reference { .. }
                | FieldKind::Email
                | FieldKind::Url
                | FieldKind::Phone
        )
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page {
    pub entries: Vec<(Entry, Cursor)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// One version of an entry's history.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub version: i64,
    pub action: String,
    pub status: String,
    pub slug: String,
    pub created_at: String,
    pub created_by: Option<String>,
    pub data: Map<String, Value>,
}

/// Default page size.
pub const PAGE_DEFAULT: u64 = 20;

/// An entry's place in its list's order. Encoded to the opaque cursor clients see only when one
/// is asked for: most pages are read without the cursor of every entry.
#[derive(Debug, Clone)]
pub struct Cursor {
    signature: std::sync::Arc<str>,
    position: Vec<Value>,
}

impl Cursor {
    /// The opaque cursor (`after`/`before` of the same list and order accept it).
    pub fn encode(&self) -> String {
        encode_cursor(&self.signature, &self.position)
    }
}

fn encode_cursor(signature: &str, position: &[Value]) -> String {
    let v = serde_json::json!({ "s": signature, "p": position });
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_cursor(arg: &str, signature: &str, cursor: &str) -> Result<Vec<Value>, ContentError> {
    let bad = || ContentError::invalid(arg, "cursor", "not a cursor of this list and order");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if v.get("s").and_then(Value::as_str) != Some(signature) {
        return Err(bad());
    }
    match v.get("p") {
        Some(Value::Array(p)) => Ok(p.clone()),
        _ => Err(bad()),
    }
}

impl Content {
    /// Reads one entry (`Stage::Published` for readers, `Stage::Draft` for editors/preview).
    pub async fn get(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        lookup: &Lookup,
        stage: Stage,
    ) -> Result<Option<Entry>, ContentError> {
        self.model(ctx).await?.get(entry_type)?;
        let doc = match lookup {
            Lookup::Id(id) => repo::get(&self.reads, ctx, stage, Some(entry_type), id).await?,
            Lookup::Slug(s) => repo::get_by_slug(&self.reads, ctx, stage, entry_type, s).await?,
        };
        Ok(doc.map(|d| Entry::from_doc(d, stage)))
    }

    /// Reads many entries by id, any type, in one query (reference loaders).
    pub async fn get_many(
        &self,
        ctx: &TenantCtx,
        ids: &[String],
        stage: Stage,
    ) -> Result<Vec<Entry>, ContentError> {
        Ok(repo::get_many(&self.reads, ctx, stage, ids)
            .await?
            .into_iter()
            .map(|d| Entry::from_doc(d, stage))
            .collect())
    }

    fn list_query(
        &self,
        ctx: &TenantCtx,
        ct: &ContentType,
        args: &PageArgs,
        stage: Stage,
        usage: compound::Use,
    ) -> Result<(ListQuery, String, u64), ContentError> {
        let locale = ctx.resolve_locale(args.locale.as_deref()).to_owned();
        let cond = match &args.filter {
            Some(f) if !f.is_null() => Some(filter::compile_where(ct, f, &locale, "where")?),
            _ => None,
        };
        let sort = compile_sort(ct, &args.order_by, &locale)?;
        let signature = filter::sort_signature(&sort);
        if args.first.is_some() && args.last.is_some() {
            return Err(ContentError::invalid(
                "last",
                "exclusive",
                "give `first` or `last`, not both",
            ));
        }
        // Relay's cursor connections: `after` and `before` bound the range; `first` takes from
        // its start (the default), `last` from its end, walking the order backwards.
        let backward = args.last.is_some();
        let (size, name) = match args.last {
            Some(last) => (last, "last"),
            None => (args.first.unwrap_or(PAGE_DEFAULT), "first"),
        };
        if size > self.page_max {
            return Err(ContentError::invalid(
                name,
                "max",
                format!("at most {} entries per page", self.page_max),
            ));
        }
        let after = args
            .after
            .as_ref()
            .map(|c| decode_cursor("after", &signature, c))
            .transpose()?;
        let before = args
            .before
            .as_ref()
            .map(|c| decode_cursor("before", &signature, c))
            .transpose()?;
        let (after, until) = if backward {
            (before, after)
        } else {
            (after, before)
        };
        let mut q = ListQuery {
            stage,
            entry_type: ct.name.clone(),
            cond,
            sort,
            after,
            until,
            owner: args.owner.clone(),
            limit: size + u64::from(!args.without_page_info),
            backward,
            compound: None,
        };
        compound::plan(ct, &mut q, &locale, usage);
        Ok((q, signature, size))
    }

    /// Lists entries of a type: filtered, sorted, paginated with opaque cursors.
    pub async fn list(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        args: &PageArgs,
        stage: Stage,
    ) -> Result<Page, ContentError> {
        self.list_fields(ctx, entry_type, args, stage, None).await
    }

    /// [`Self::list`], with only the data `fields` in each entry (all with `None`): for callers
    /// that know what they will read, such as a GraphQL selection.
    pub async fn list_fields(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        args: &PageArgs,
        stage: Stage,
        fields: Option<&[String]>,
    ) -> Result<Page, ContentError> {
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let (q, signature, size) = self.list_query(ctx, ct, args, stage, compound::Use::Page)?;
        let mut rows = repo::list(&self.reads, ctx, &q, fields).await?;
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        if q.backward {
            rows.reverse();
        }
        let signature: std::sync::Arc<str> = signature.into();
        let entries = rows
            .into_iter()
            .map(|r| {
                let cursor = Cursor {
                    signature: signature.clone(),
                    position: r.position,
                };
                (Entry::from_doc(r.doc, stage), cursor)
            })
            .collect();
        // Beyond a cursor there is at least the cursor's own entry (Relay lets a server answer
        // so without looking).
        let (walked_from, walked_to) = (q.after.is_some(), q.until.is_some());
        let (next, previous) = (more || walked_to, walked_from);
        Ok(Page {
            entries,
            has_next_page: if q.backward { previous } else { next },
            has_previous_page: if q.backward { next } else { previous },
        })
    }

    /// Published entries in id order after `after` (of one type, or of all), a page at a time:
    /// for rebuilding indexes from the database.
    pub async fn scan_published(
        &self,
        ctx: &TenantCtx,
        entry_type: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Entry>, ContentError> {
        Ok(
            repo::scan(&self.db, ctx, Stage::Published, entry_type, after, limit)
                .await?
                .into_iter()
                .map(|d| Entry::from_doc(d, Stage::Published))
                .collect(),
        )
    }

    /// How many published entries the tenant has (all types).
    pub async fn count_published(&self, ctx: &TenantCtx) -> Result<i64, ContentError> {
        let model = self.model(ctx).await?;
        let mut n = 0;
        for ct in &model.types {
            n += repo::count_type(&self.db, ctx, Stage::Published, &ct.name).await?;
        }
        Ok(n)
    }

    /// How many entries a list's filter matches per value of `group_by` (filterable text,
    /// enum, boolean or reference fields; localized ones in the list's locale), largest groups
    /// first, at most [`GROUPS_MAX`]: one statement on the value index, with the same filter
    /// and permissions as the list.
    pub async fn group_counts(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        args: &PageArgs,
        stage: Stage,
        group_by: &[String],
    ) -> Result<Vec<Group>, ContentError> {
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let locale = ctx.resolve_locale(args.locale.as_deref()).to_owned();
        if group_by.is_empty() || group_by.len() > GROUP_KEYS_MAX {
            return Err(ContentError::invalid(
                "groupBy",
                "length",
                format!("1 to {GROUP_KEYS_MAX} fields"),
            ));
        }
        let mut keys = Vec::new();
        for (i, name) in group_by.iter().enumerate() {
            match ct.field(name) {
                Some(f) if groupable(f) => keys.push((
                    f.name.clone(),
                    if f.localized {
                        locale.clone()
                    } else {
                        String::new()
                    },
                )),
                Some(_) => {
                    return Err(ContentError::invalid(
                        &format!("groupBy[{i}]"),
                        "groupable",
                        format!(
                            "`{name}` is not a filterable text, enum, boolean or reference field"
                        ),
                    ));
                }
                None => {
                    return Err(ContentError::invalid(
                        &format!("groupBy[{i}]"),
                        "unknown",
                        format!("`{}` has no field `{name}`", ct.name),
                    ));
                }
            }
        }
        let q = self.match_query(ctx, ct, args, stage)?;
        let rows = repo::group_counts(&self.reads, ctx, &q, &keys, GROUPS_MAX).await?;
        Ok(rows
            .into_iter()
            .map(|(values, count)| Group {
                keys: values
                    .into_iter()
                    .zip(group_by)
                    .map(|(v, name)| match ct.field(name).map(|f| &f.kind) {
                        _ if v.is_empty() => None,
                        Some(FieldKind::Boolean) => {
                            Some(if v == "1" { "true" } else { "false" }.to_owned())
                        }
                        _ => Some(v),
                    })
                    .collect(),
                count,
            })
            .collect())
    }

    /// Everything a list's filter matches, without paging or order (for counts).
    fn match_query(
        &self,
        ctx: &TenantCtx,
        ct: &ContentType,
        args: &PageArgs,
        stage: Stage,
    ) -> Result<ListQuery, ContentError> {
        let whole = PageArgs {
            first: Some(0),
            after: None,
            last: None,
            before: None,
            order_by: Vec::new(),
            ..args.clone()
        };
        Ok(self
            .list_query(ctx, ct, &whole, stage, compound::Use::Matches)?
            .0)
    }

    /// Counts the entries a list's filter matches (`totalCount`).
    pub async fn count(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        args: &PageArgs,
        stage: Stage,
    ) -> Result<i64, ContentError> {
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let q = self.match_query(ctx, ct, args, stage)?;
        Ok(repo::count(&self.reads, ctx, &q).await?)
    }

    /// The database plan of a list (index-usage tests and diagnostics).
    pub async fn explain_list(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        args: &PageArgs,
        stage: Stage,
    ) -> Result<String, ContentError> {
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let (q, _, _) = self.list_query(ctx, ct, args, stage, compound::Use::Page)?;
        Ok(repo::explain_list(&self.db, ctx, &q, false).await?)
    }

    /// PostgreSQL: the generic plan a list runs with on the read connections when it is planned
    /// by its shape; `None` when it is planned with its values each time.
    pub async fn explain_generic_list(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        args: &PageArgs,
        stage: Stage,
    ) -> Result<Option<String>, ContentError> {
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let (q, _, _) = self.list_query(ctx, ct, args, stage, compound::Use::Page)?;
        Ok(repo::explain_generic_list(&self.db, ctx, &q).await?)
    }

    /// The database plan of a list's count (`totalCount`).
    pub async fn explain_count(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        args: &PageArgs,
        stage: Stage,
    ) -> Result<String, ContentError> {
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let q = self.match_query(ctx, ct, args, stage)?;
        Ok(repo::explain_list(&self.db, ctx, &q, true).await?)
    }

    /// Turns client input into the stored shape, merged over `base` (the current draft).
    pub(super) fn merge_input(
        &self,
        ctx: &TenantCtx,
        ct: &ContentType,
        input: &EntryInput,
        base: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ContentError> {
        let mut data = base.clone();
        let locale = match &input.locale {
            Some(l) if ctx.locales().iter().any(|x| x == l) => Some(l.as_str()),
            Some(l) => {
                return Err(ContentError::invalid(
                    "locale",
                    "locale",
                    format!(
                        "unknown locale `{l}`; the tenant has {}",
                        ctx.locales().join(", ")
                    ),
                ));
            }
            None => None,
        };
        for (key, value) in &input.data {
            let localized = ct.field(key).is_some_and(|f| f.localized);
            match (localized, locale) {
                (true, Some(l)) => {
                    let mut per_locale = match data.remove(key) {
                        Some(Value::Object(m)) => m,
                        _ => Map::new(),
                    };
                    if value.is_null() {
                        per_locale.remove(l);
                    } else {
                        per_locale.insert(l.to_owned(), value.clone());
                    }
                    if !per_locale.is_empty() {
                        data.insert(key.clone(), Value::Object(per_locale));
                    }
                }
                _ => {
                    if value.is_null() {
                        data.remove(key);
                    } else {
                        data.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        Ok(data)
    }

    pub(super) fn check(
        &self,
        ctx: &TenantCtx,
        ct: &ContentType,
        data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ContentError> {
        let out = values::check_entry(ct, data, ctx.locales(), ctx.default_locale(), &self.limits)
            .map_err(ContentError::Invalid)?;
        let size = json_size(&out);
        if size > self.entry_bytes {
            return Err(ContentError::invalid(
                "",
                "maxBytes",
                format!(
                    "the entry is {size} bytes; at most {} allowed",
                    self.entry_bytes
                ),
            ));
        }
        Ok(out)
    }

    /// Create an entry (a draft).
    pub async fn create(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        input: EntryInput,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        let write = self
            .prepare(ctx, entry_type, BatchWrite::Create(input), now_ms())
            .await?;
        self.write_grouped(ctx, entry_type, write, actor)
            .await?
            .ok_or_else(|| ContentError::NotFound(entry_type.to_owned()))
    }

    /// Plugin hooks see the merged data and run before the write lock is taken.
    async fn hook_create(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        input: &EntryInput,
    ) -> Result<Option<Map<String, Value>>, ContentError> {
        let Some(plugins) = self.before_save_plugins(ctx).await? else {
            return Ok(None);
        };
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let mut data = self.merge_input(ctx, ct, input, &Map::new())?;
        values::apply_defaults(ct, &mut data, ctx.default_locale());
        Ok(Some(
            self.before_save(ctx, plugins, entry_type, None, data)
                .await?,
        ))
    }

    /// The create itself, in a write transaction that holds the tenant's lock.
    #[allow(clippy::too_many_arguments)]
    async fn create_locked(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        ctx: &TenantCtx,
        entry_type: &str,
        input: EntryInput,
        hooked: Option<Map<String, Value>>,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        let ct = model.get(entry_type)?;
        let data = match hooked {
            Some(data) => data,
            None => {
                let mut data = self.merge_input(ctx, ct, &input, &Map::new())?;
                values::apply_defaults(ct, &mut data, ctx.default_locale());
                data
            }
        };
        let data = self.check(ctx, ct, &data)?;
        let now = now_ms();
        let id = uuid::Uuid::now_v7().to_string();
        check_references(txn, ctx, ct, &data).await?;
        check_unique(txn, ctx, ct, &data, None).await?;
        let slug = choose_slug(txn, ctx, ct, input.slug.as_deref(), &data, None).await?;
        let doc = DocRow {
            entry_id: id.clone(),
            entry_type: ct.name.clone(),
            slug,
            version: 1,
            locales: values::available_locales(ct, &data, ctx.locales()),
            data,
            created_at: now,
            updated_at: now,
            published_at: None,
            created_by: actor.map(str::to_owned),
            updated_by: actor.map(str::to_owned),
        };
        repo::insert_docs(txn, ctx, &[(Stage::Draft, &doc)])
            .await
            .map_err(slug_conflict)?;
        // A new entry has no index rows to replace: one statement less under the write lock.
        repo::insert_index(
            txn,
            ctx,
            vec![IndexBatch {
                stage: Stage::Draft,
                entry_type: &doc.entry_type,
                entry_id: &doc.entry_id,
                rows: index_rows_of(ctx, ct, &doc),
            }],
        )
        .await?;
        write_version(txn, ctx, &doc, "create", Status::Draft, actor, now).await?;
        record(txn, ctx, EventKind::EntryCreated, &doc, now, actor).await?;
        Ok(match input.publish {
            Some(p) => {
                self.publish_in(txn, model, ctx, entry_type, &id, p.at, actor)
                    .await?
            }
            None => Entry::from_doc(doc, Stage::Draft),
        })
    }

    /// Change an entry's draft. With `expected_version`, a stale version fails with `CONFLICT`.
    pub async fn update(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        input: EntryInput,
        expected_version: Option<i64>,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        let write = BatchWrite::Update {
            id: id.to_owned(),
            input,
            expected_version,
        };
        let write = self.prepare(ctx, entry_type, write, now_ms()).await?;
        self.write_grouped(ctx, entry_type, write, actor)
            .await?
            .ok_or_else(|| ContentError::NotFound(id.to_owned()))
    }

    /// Plugin hooks run on the merged draft before the write lock is taken; if the entry
    /// changes meanwhile, the update is refused as stale rather than saved unchecked. Gives
    /// the version the hooks saw and their data.
    async fn hook_update(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        input: &EntryInput,
    ) -> Result<Option<(i64, Map<String, Value>)>, ContentError> {
        let Some(plugins) = self.before_save_plugins(ctx).await? else {
            return Ok(None);
        };
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let Some(before) = repo::get_draft_for_update(&self.db, ctx, entry_type, id).await? else {
            return Ok(None);
        };
        let data = self.merge_input(ctx, ct, input, &before.data)?;
        let data = self
            .before_save(ctx, plugins, entry_type, Some(id), data)
            .await?;
        Ok(Some((before.version, data)))
    }

    /// The update itself, in a write transaction that holds the tenant's lock.
    #[allow(clippy::too_many_arguments)]
    async fn update_locked(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        input: EntryInput,
        expected_version: Option<i64>,
        hooked: Option<(i64, Map<String, Value>)>,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        let ct = model.get(entry_type)?;
        let current = repo::get_draft_for_update(txn, ctx, entry_type, id)
            .await?
            .ok_or_else(|| ContentError::NotFound(format!("{entry_type} {id}")))?;
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Err(stale(expected, current.version));
        }
        let data = match hooked {
            Some((seen, _)) if seen != current.version => {
                return Err(stale(seen, current.version));
            }
            Some((_, data)) => data,
            None => self.merge_input(ctx, ct, &input, &current.data)?,
        };
        let data = self.check(ctx, ct, &data)?;
        check_references(txn, ctx, ct, &data).await?;
        check_unique(txn, ctx, ct, &data, Some(id)).await?;
        let slug = match &input.slug {
            Some(s) if *s != current.slug => {
                choose_slug(txn, ctx, ct, Some(s), &data, Some(id)).await?
            }
            _ => current.slug.clone(),
        };
        let now = now_ms();
        let doc = DocRow {
            slug,
            version: current.version + 1,
            locales: values::available_locales(ct, &data, ctx.locales()),
            data,
            updated_at: now,
            updated_by: actor.map(str::to_owned),
            ..current.clone()
        };
        if !repo::update_draft(txn, ctx, &doc, current.version)
            .await
            .map_err(slug_conflict)?
        {
            return Err(stale(
                expected_version.unwrap_or(current.version),
                current.version + 1,
            ));
        }
        write_index(txn, ctx, ct, Stage::Draft, &doc).await?;
        write_version(txn, ctx, &doc, "update", status_of(&doc), actor, now).await?;
        record(txn, ctx, EventKind::EntryUpdated, &doc, now, actor).await?;
        let entry = match input.publish {
            Some(p) => {
                let entry = self
                    .publish_in(txn, model, ctx, entry_type, id, p.at, actor)
                    .await?;
                schedules::delete(txn, ctx.id(), id, Some(ScheduleAction::Publish)).await?;
                entry
            }
            None => Entry::from_doc(doc, Stage::Draft),
        };
        Ok(entry)
    }

    /// Publish the current draft: readers of published content see it from now on.
    pub async fn publish(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        self.publish_at(ctx, entry_type, id, None, actor).await
    }

    /// Publish the current draft with the `publishedAt` readers see (`None`: now).
    pub async fn publish_at(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        at: Option<i64>,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        check_publication(Some(Publication { at }), now_ms())?;
        let (txn, model) = self.begin_write(ctx).await?;
        let entry = self
            .publish_in(&txn, &model, ctx, entry_type, id, at, actor)
            .await?;
        // Published by hand: a pending scheduled publish has nothing left to do.
        schedules::delete(&txn, ctx.id(), id, Some(ScheduleAction::Publish)).await?;
        txn.commit().await?;
        Ok(entry)
    }

    /// Publishes inside the caller's write transaction (a manual or a scheduled publish, or a
    /// write that asked to publish), as of `at` (now when `None`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn publish_in(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        at: Option<i64>,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        let ct = model.get(entry_type)?;
        let current = repo::get_draft_for_update(txn, ctx, entry_type, id)
            .await?
            .ok_or_else(|| ContentError::NotFound(format!("{entry_type} {id}")))?;
        // The type may have gained rules since the draft was saved.
        self.check(ctx, ct, &current.data)?;
        let now = now_ms();
        let draft = DocRow {
            version: current.version + 1,
            updated_at: now,
            published_at: Some(at.unwrap_or(now)),
            updated_by: actor.map(str::to_owned),
            ..current.clone()
        };
        if !repo::update_draft(txn, ctx, &draft, current.version).await? {
            return Err(stale(current.version, current.version + 1));
        }
        repo::delete_stage(txn, ctx, id, Stage::Published).await?;
        repo::insert_docs(txn, ctx, &[(Stage::Published, &draft)])
            .await
            .map_err(slug_conflict)?;
        write_index(txn, ctx, ct, Stage::Published, &draft).await?;
        write_version(txn, ctx, &draft, "publish", Status::Published, actor, now).await?;
        record(txn, ctx, EventKind::EntryPublished, &draft, now, actor).await?;
        Ok(Entry::from_doc(draft, Stage::Published))
    }

    /// Withdraw the published copy; the draft stays.
    pub async fn unpublish(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        let (txn, model) = self.begin_write(ctx).await?;
        let entry = self
            .unpublish_in(&txn, &model, ctx, entry_type, id, actor)
            .await?;
        schedules::delete(&txn, ctx.id(), id, Some(ScheduleAction::Unpublish)).await?;
        txn.commit().await?;
        Ok(entry)
    }

    /// Unpublishes inside the caller's write transaction.
    pub(crate) async fn unpublish_in(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        model.get(entry_type)?;
        let current = repo::get_draft_for_update(txn, ctx, entry_type, id)
            .await?
            .ok_or_else(|| ContentError::NotFound(format!("{entry_type} {id}")))?;
        let now = now_ms();
        let draft = DocRow {
            version: current.version + 1,
            updated_at: now,
            published_at: None,
            updated_by: actor.map(str::to_owned),
            ..current.clone()
        };
        if !repo::update_draft(txn, ctx, &draft, current.version).await? {
            return Err(stale(current.version, current.version + 1));
        }
        repo::delete_stage(txn, ctx, id, Stage::Published).await?;
        write_version(txn, ctx, &draft, "unpublish", Status::Draft, actor, now).await?;
        record(txn, ctx, EventKind::EntryUnpublished, &draft, now, actor).await?;
        Ok(Entry::from_doc(draft, Stage::Draft))
    }

    /// Delete an entry, both copies and its history.
    pub async fn delete(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        actor: Option<&str>,
    ) -> Result<(), ContentError> {
        let write = BatchWrite::Delete { id: id.to_owned() };
        let write = self.prepare(ctx, entry_type, write, now_ms()).await?;
        self.write_grouped(ctx, entry_type, write, actor)
            .await
            .map(|_| ())
    }

    /// A batch write's checks that need no lock, and its plugin hooks.
    pub(super) async fn prepare(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        write: BatchWrite,
        now: i64,
    ) -> Result<Prepared, ContentError> {
        Ok(match write {
            BatchWrite::Create(input) => {
                check_publication(input.publish, now)?;
                let hooked = self.hook_create(ctx, entry_type, &input).await?;
                Prepared::Create(input, hooked)
            }
            BatchWrite::Update {
                id,
                input,
                expected_version,
            } => {
                check_publication(input.publish, now)?;
                let hooked = self.hook_update(ctx, entry_type, &id, &input).await?;
                Prepared::Update {
                    id,
                    input,
                    expected_version,
                    hooked,
                }
            }
            BatchWrite::Delete { id } => Prepared::Delete(id),
        })
    }

    /// Several writes of one type in one transaction (one lock, one commit), each with its own
    /// result: a write that fails is rolled back alone (to a savepoint) and the others stand,
    /// in order, each with its own checks (`expectedVersion`, unique values, slugs) against
    /// the writes before it.
    pub async fn write_batch(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        writes: Vec<BatchWrite>,
        actor: Option<&str>,
    ) -> Result<Vec<Result<Option<Entry>, ContentError>>, ContentError> {
        if writes.len() > self.batch_max {
            return Err(ContentError::invalid(
                "items",
                "maxItems",
                format!("at most {} writes per batch", self.batch_max),
            ));
        }
        // Plugin hooks first, outside the lock, as for single writes.
        let now = now_ms();
        let mut prepared = Vec::with_capacity(writes.len());
        for write in writes {
            prepared.push(self.prepare(ctx, entry_type, write, now).await);
        }
        let (txn, model) = self.begin_write(ctx).await?;
        let mut results = Vec::with_capacity(prepared.len());
        let mut writes = Vec::with_capacity(prepared.len());
        for write in prepared {
            match write {
                Ok(write) => {
                    results.push(None);
                    writes.push(super::bulk::Write {
                        ctx: ctx.clone(),
                        entry_type: entry_type.to_owned(),
                        write,
                        actor: actor.map(str::to_owned),
                    });
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let mut applied = self.apply_all(&txn, &model, writes).await?.into_iter();
        txn.commit().await?;
        Ok(results
            .into_iter()
            .map(|r| {
                r.or_else(|| applied.next()).unwrap_or_else(|| {
                    Err(ContentError::Db(sea_orm::DbErr::Custom(
                        "a write of the batch was lost".into(),
                    )))
                })
            })
            .collect())
    }

    /// One prepared write, inside a transaction that holds the tenant's lock.
    pub(super) async fn apply_locked(
        &self,
        txn: &impl Exec,
        model: &TenantModel,
        ctx: &TenantCtx,
        entry_type: &str,
        write: Prepared,
        actor: Option<&str>,
    ) -> Result<Option<Entry>, ContentError> {
        match write {
            Prepared::Create(input, hooked) => self
                .create_locked(txn, model, ctx, entry_type, input, hooked, actor)
                .await
                .map(Some),
            Prepared::Update {
                id,
                input,
                expected_version,
                hooked,
            } => self
                .update_locked(
                    txn,
                    model,
                    ctx,
                    entry_type,
                    &id,
                    input,
                    expected_version,
                    hooked,
                    actor,
                )
                .await
                .map(Some),
            Prepared::Delete(id) => delete_locked(txn, model, ctx, entry_type, &id, actor)
                .await
                .map(|()| None),
        }
    }

    /// An entry's saved and published versions, newest first.
    pub async fn versions(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
    ) -> Result<Vec<VersionInfo>, ContentError> {
        self.model(ctx).await?.get(entry_type)?;
        let rows = repo::list_versions(&self.db, ctx, id).await?;
        if rows.is_empty() || rows.iter().any(|r| r.entry_type != entry_type) {
            return Err(ContentError::NotFound(format!("{entry_type} {id}")));
        }
        Ok(rows
            .into_iter()
            .map(|r| VersionInfo {
                version: r.version,
                action: r.action,
                status: r.status,
                slug: r.slug,
                created_at: to_rfc3339(r.created_at),
                created_by: r.created_by,
                data: r.data,
            })
            .collect())
    }

    /// Make an earlier version the current draft (a new version; history is kept).
    pub async fn restore(
        &self,
        ctx: &TenantCtx,
        entry_type: &str,
        id: &str,
        version: i64,
        expected_version: Option<i64>,
        actor: Option<&str>,
    ) -> Result<Entry, ContentError> {
        let old = repo::get_version(&self.db, ctx, id, version)
            .await?
            .filter(|v| v.entry_type == entry_type)
            .ok_or_else(|| {
                ContentError::NotFound(format!("version {version} of {entry_type} {id}"))
            })?;
        // Replace every field: fields absent from the old version are cleared.
        let model = self.model(ctx).await?;
        let ct = model.get(entry_type)?;
        let mut data = Map::new();
        for f in &ct.fields {
            data.insert(
                f.name.clone(),
                old.data.get(&f.name).cloned().unwrap_or(Value::Null),
            );
        }
        let entry = self
            .update(
                ctx,
                entry_type,
                id,
                EntryInput {
                    data,
                    ..EntryInput::default()
                },
                expected_version,
                actor,
            )
            .await?;
        Ok(entry)
    }
}

fn stale(expected: i64, actual: i64) -> ContentError {
    ContentError::Conflict {
        message: format!("the entry is at version {actual}, not {expected}: reload and retry"),
        fields: vec![FieldError::new(
            "expectedVersion",
            "stale",
            format!("expected {expected}, current {actual}"),
        )],
    }
}

fn slug_conflict(e: sea_orm::DbErr) -> ContentError {
    if is_unique_violation(&e) {
        ContentError::Conflict {
            message: "the slug is already used by another entry of this type".into(),
            fields: vec![FieldError::new(
                "slug",
                "unique",
                "already used by another entry of this type",
            )],
        }
    } else {
        ContentError::Db(e)
    }
}

fn status_of(doc: &DocRow) -> Status {
    if doc.published_at.is_some() {
        Status::Published
    } else {
        Status::Draft
    }
}

/// Picks the slug: the client's (must be free and in slug form) or one derived from
/// `slugFrom`, made unique with a numeric suffix.
pub(crate) async fn choose_slug(
    conn: &impl Exec,
    ctx: &TenantCtx,
    ct: &ContentType,
    requested: Option<&str>,
    data: &Map<String, Value>,
    except: Option<&str>,
) -> Result<String, ContentError> {
    if let Some(s) = requested {
        if !slug::is_valid_slug(s) {
            return Err(ContentError::invalid(
                "slug",
                "pattern",
                format!("not a slug; did you mean `{}`?", slug::slugify(s)),
            ));
        }
        if repo::slug_owner(conn, ctx, &ct.name, s, except)
            .await?
            .is_some()
        {
            return Err(ContentError::Conflict {
                message: format!("slug `{s}` is already used by another {}", ct.name),
                fields: vec![FieldError::new(
                    "slug",
                    "unique",
                    format!("`{s}` is already used by another {}", ct.name),
                )],
            });
        }
        return Ok(s.to_owned());
    }
    let base = derive_slug_base(ct, data, ctx.default_locale());
    let taken = repo::slugs_like(conn, ctx, &ct.name, &base).await?;
    Ok(first_free(&base, |s| taken.contains(s)))
}

/// Like [`choose_slug`], also avoiding slugs taken earlier in the same batch (an import's, or
/// a group of creates').
pub(crate) async fn choose_slug_in_batch(
    conn: &impl Exec,
    ctx: &TenantCtx,
    ct: &ContentType,
    requested: Option<&str>,
    data: &Map<String, Value>,
    batch: &mut std::collections::HashSet<(String, String)>,
    probe: &SlugProbe,
) -> Result<String, ContentError> {
    let key = |s: &str| (ct.name.clone(), s.to_owned());
    let slug = match requested {
        Some(s) if batch.contains(&key(s)) => {
            return Err(ContentError::Conflict {
                message: format!("slug `{s}` is already used by another {}", ct.name),
                fields: vec![FieldError::new(
                    "slug",
                    "unique",
                    format!("`{s}` is already used by another {} of this batch", ct.name),
                )],
            });
        }
        Some(s) if slug::is_valid_slug(s) && probe.is_free(&key(s)) => s.to_owned(),
        Some(_) => choose_slug(conn, ctx, ct, requested, data, None).await?,
        None => {
            let base = derive_slug_base(ct, data, ctx.default_locale());
            if probe.is_free(&key(&base)) && !batch.contains(&key(&base)) {
                base
            } else {
                let taken = repo::slugs_like(conn, ctx, &ct.name, &base).await?;
                first_free(&base, |s| taken.contains(s) || batch.contains(&key(s)))
            }
        }
    };
    batch.insert((ct.name.clone(), slug.clone()));
    Ok(slug)
}

/// Slugs looked up for a whole import batch in one query per type: the common case (a slug
/// nobody has) then needs no query of its own.
#[derive(Debug, Default)]
pub(crate) struct SlugProbe {
    checked: std::collections::HashSet<(String, String)>,
    taken: std::collections::HashSet<(String, String)>,
}

impl SlugProbe {
    pub(crate) async fn load(
        conn: &impl Exec,
        ctx: &TenantCtx,
        candidates: std::collections::HashMap<String, Vec<String>>,
    ) -> Result<SlugProbe, ContentError> {
        let mut probe = SlugProbe::default();
        for (entry_type, slugs) in candidates {
            for taken in repo::slugs_in(conn, ctx, &entry_type, &slugs).await? {
                probe.taken.insert((entry_type.clone(), taken));
            }
            probe
                .checked
                .extend(slugs.into_iter().map(|s| (entry_type.clone(), s)));
        }
        Ok(probe)
    }

    fn is_free(&self, key: &(String, String)) -> bool {
        self.checked.contains(key) && !self.taken.contains(key)
    }
}

pub(crate) fn derive_slug_base(
    ct: &ContentType,
    data: &Map<String, Value>,
    default_locale: &str,
) -> String {
    let source = ct
        .slug_from
        .as_ref()
        .and_then(|f| {
            ct.field(f).and_then(|field| {
                data.get(f)
                    .and_then(|v| values::localized_value(field, v, default_locale, default_locale))
            })
        })
        .and_then(Value::as_str)
        .map(slug::slugify)
        .filter(|s| !s.is_empty());
    source.unwrap_or_else(|| ct.name.clone())
}

pub(crate) fn first_free(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|s| !taken(s))
        .unwrap_or_else(|| format!("{base}-{}", uuid::Uuid::now_v7()))
}

/// References must point at existing entries of the right type in the same tenant.
/// `pending` lists ids created in the same batch (imports).
/// Deletes an entry (both copies, its history and schedules) in a write transaction that holds
/// the tenant's lock.
async fn delete_locked(
    txn: &impl Exec,
    model: &TenantModel,
    ctx: &TenantCtx,
    entry_type: &str,
    id: &str,
    actor: Option<&str>,
) -> Result<(), ContentError> {
    model.get(entry_type)?;
    let current = repo::get_draft_for_update(txn, ctx, entry_type, id)
        .await?
        .ok_or_else(|| ContentError::NotFound(format!("{entry_type} {id}")))?;
    repo::delete_stage(txn, ctx, id, Stage::Published).await?;
    repo::delete_stage(txn, ctx, id, Stage::Draft).await?;
    repo::delete_versions(txn, ctx, id).await?;
    schedules::delete(txn, ctx.id(), id, None).await?;
    record(txn, ctx, EventKind::EntryDeleted, &current, now_ms(), actor).await?;
    Ok(())
}

/// One write of a [batch](Content::write_batch).
#[derive(Debug, Clone)]
pub enum BatchWrite {
    Create(EntryInput),
    Update {
        id: String,
        input: EntryInput,
        expected_version: Option<i64>,
    },
    Delete {
        id: String,
    },
}

/// A batch write with what its plugin hooks made of it.
pub(super) enum Prepared {
    Create(EntryInput, Option<Map<String, Value>>),
    Update {
        id: String,
        input: EntryInput,
        expected_version: Option<i64>,
        hooked: Option<(i64, Map<String, Value>)>,
    },
    Delete(String),
}

pub(crate) async fn check_references(
    conn: &impl Exec,
    ctx: &TenantCtx,
    ct: &ContentType,
    data: &Map<String, Value>,
) -> Result<(), ContentError> {
    let mut errors = check_media(conn, ctx, ct, data).await?;
    let refs = values::references(ct, data);
    if !refs.is_empty() {
        let mut by_type: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (_, to, id) in &refs {
            by_type.entry(to.as_str()).or_default().push(id.clone());
        }
        let mut found = std::collections::HashSet::new();
        for (to, ids) in by_type {
            for id in repo::existing_ids(conn, ctx, Some(to), &ids).await? {
                found.insert((to.to_owned(), id));
            }
        }
        errors.extend(reference_errors(ct, data, |to, id| {
            found.contains(&(to.to_owned(), id.to_owned()))
        }));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ContentError::Invalid(errors))
    }
}

/// An error for each reference of `data` to an entry that `exists(type, id)` denies.
pub(crate) fn reference_errors(
    ct: &ContentType,
    data: &Map<String, Value>,
    exists: impl Fn(&str, &str) -> bool,
) -> Vec<FieldError> {
    values::references(ct, data)
        .into_iter()
        .filter(|(_, to, id)| !exists(to, id))
        .map(|(path, to, id)| FieldError::new(path, "reference", format!("no {to} with id `{id}`")))
        .collect()
}

/// Media fields must name assets of the tenant's media library.
pub(crate) async fn check_media(
    conn: &impl Exec,
    ctx: &TenantCtx,
    ct: &ContentType,
    data: &Map<String, Value>,
) -> Result<Vec<FieldError>, ContentError> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for field in ct.fields.iter().filter(|f| f.kind == FieldKind::Media) {
        let mut push = |path: String, v: &Value| {
            if let Value::String(id) = v {
                wanted.push((path, id.clone()));
            }
        };
        match data.get(&field.name) {
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    push(format!("{}[{i}]", field.name), v);
                }
            }
            Some(Value::Object(per_locale)) if field.localized => {
                for (locale, v) in per_locale {
                    match v {
                        Value::Array(items) => {
                            for (i, v) in items.iter().enumerate() {
                                push(format!("{}.{locale}[{i}]", field.name), v);
                            }
                        }
                        v => push(format!("{}.{locale}", field.name), v),
                    }
                }
            }
            Some(v) => push(field.name.clone(), v),
            None => {}
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
    let found: std::collections::HashSet<String> =
        crate::store::media::get_many(conn, ctx.id(), &ids)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
    Ok(wanted
        .into_iter()
        .filter(|(_, id)| !found.contains(id))
        .map(|(path, id)| FieldError::new(path, "media", format!("no media asset with id `{id}`")))
        .collect())
}

pub(crate) async fn check_unique(
    conn: &impl Exec,
    ctx: &TenantCtx,
    ct: &ContentType,
    data: &Map<String, Value>,
    except: Option<&str>,
) -> Result<(), ContentError> {
    for field in ct.fields.iter().filter(|f| f.unique) {
        if let Some(v) = data
            .get(&field.name)
            .and_then(|v| values::encode_index_value(&field.kind, v))
            && repo::unique_taken(conn, ctx, &ct.name, &field.name, &v, except).await?
        {
            return Err(unique_conflict(ct, field));
        }
    }
    Ok(())
}

/// The error of a value another entry of the type already holds in a unique field.
pub(crate) fn unique_conflict(ct: &ContentType, field: &super::model::FieldDef) -> ContentError {
    ContentError::Conflict {
        message: format!("another {} already has this {}", ct.name, field.name),
        fields: vec![FieldError::new(
            field.name.as_str(),
            "unique",
            "already used by another entry",
        )],
    }
}

pub(crate) fn index_rows_of(ctx: &TenantCtx, ct: &ContentType, doc: &DocRow) -> Vec<IndexRow> {
    values::index_rows(ct, &doc.data, ctx.locales(), ctx.default_locale())
}

async fn write_index(
    txn: &impl Exec,
    ctx: &TenantCtx,
    ct: &ContentType,
    stage: Stage,
    doc: &DocRow,
) -> Result<(), ContentError> {
    let rows = index_rows_of(ctx, ct, doc);
    repo::replace_index(
        txn,
        ctx,
        IndexBatch {
            stage,
            entry_type: &doc.entry_type,
            entry_id: &doc.entry_id,
            rows,
        },
    )
    .await?;
    Ok(())
}

pub(crate) fn version_row(
    doc: &DocRow,
    action: &str,
    status: Status,
    actor: Option<&str>,
    now: i64,
) -> VersionRow {
    VersionRow {
        entry_id: doc.entry_id.clone(),
        version: doc.version,
        entry_type: doc.entry_type.clone(),
        action: action.to_owned(),
        status: status.as_str().to_owned(),
        slug: doc.slug.clone(),
        data: doc.data.clone(),
        created_at: now,
        created_by: actor.map(str::to_owned),
    }
}

async fn write_version(
    txn: &impl Exec,
    ctx: &TenantCtx,
    doc: &DocRow,
    action: &str,
    status: Status,
    actor: Option<&str>,
    now: i64,
) -> Result<(), ContentError> {
    repo::insert_versions(txn, ctx, &[version_row(doc, action, status, actor, now)]).await?;
    Ok(())
}

pub(crate) fn event_for(kind: EventKind, doc: &DocRow) -> NewEvent {
    NewEvent {
        kind,
        entry_type: Some(doc.entry_type.clone()),
        entry_id: Some(doc.entry_id.clone()),
        payload: serde_json::json!({ "id": doc.entry_id, "type": doc.entry_type, "slug": doc.slug, "version": doc.version, "status": status_of(doc).as_str() }),
    }
}

/// Records the outbox event and the audit row of an entry write, inside its transaction.
async fn record(
    txn: &impl Exec,
    ctx: &TenantCtx,
    kind: EventKind,
    doc: &DocRow,
    now: i64,
    actor: Option<&str>,
) -> Result<(), ContentError> {
    outbox::record(txn, ctx, vec![event_for(kind, doc)], now).await?;
    crate::audit::record(
        txn,
        crate::audit::Event::new(Some(ctx), actor.unwrap_or("anonymous"), kind.as_str())
            .target(format!("{}/{}", doc.entry_type, doc.entry_id))
            .detail(serde_json::json!({ "slug": doc.slug, "version": doc.version })),
    )
    .await?;
    Ok(())
}

/// The length of `data` as compact JSON, without building the text.
fn json_size(data: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a map of JSON values to a sink that cannot fail does not fail.
    let _ = serde_json::to_writer(&mut count, data);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_size_is_the_length_of_the_compact_text() {
        let data = serde_json::json!({
            "title": {"ar": "مَعْرِضُ الصِّنَاعَةِ التَّقْلِيدِيَّةِ بِآسَفِي", "fr": "Salon \"artisanat\"\n"},
            "tags": ["زربية", "فخار"],
            "price": 12.5,
            "published": null,
        });
        let Value::Object(map) = data else {
            unreachable!("an object")
        };
        assert_eq!(
            json_size(&map),
            Value::Object(map.clone()).to_string().len()
        );
    }
}
