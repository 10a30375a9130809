//! Read the calling tenant's published entries (capability `entries`).
//!
//! Drafts and other tenants' entries are never visible, whatever the query says: the host
//! enforces it.
//!
//! ```no_run
//! use zellige_plugin::entries::{self, Direction, Query};
//! use zellige_plugin::json;
//!
//! # fn main() -> Result<(), zellige_plugin::HostError> {
//! let page = entries::query(
//!     Query::new("event")
//!         .filter(json!({"startsAt": {"gte": "2017-12-01T00:00:00Z"}}))
//!         .order_by("startsAt", Direction::Asc)
//!         .first(100),
//! )?;
//! for event in &page.entries {
//!     let _title = event.str_field("title");
//! }
//! # Ok(())
//! # }
//! ```

use serde_json::Value;

use crate::HostError;

/// A content entry as plugins see it: the published copy, localized for the query's locale.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The entry's id.
    pub id: String,
    /// The content type, e.g. `event`.
    pub entry_type: String,
    /// The entry's slug (unique within its type and tenant).
    pub slug: String,
    /// The locale `data` is shown in.
    pub locale: String,
    /// RFC 3339; absent for entries that are not published (hooks only).
    pub published_at: Option<String>,
    /// The entry's fields as a JSON object, localized fields already resolved.
    pub data: Value,
}

impl Entry {
    /// Field `name` of the data when it is a string (None when absent or of another type).
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.data.get(name).and_then(Value::as_str)
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// A sortable field of the type, or `publishedAt`, `createdAt`, `updatedAt`, `slug`.
    pub field: String,
    /// The direction.
    pub direction: Direction,
}

/// A page query, the same as the GraphQL list query of the type. Build it with
/// [`Query::new`] and the builder methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The content type, e.g. `event`.
    pub entry_type: String,
    /// A JSON object in the shape of the GraphQL `where` input of the type, e.g.
    /// `{"city": {"eq": "مراكش"}}`; `None` for no filter.
    pub filter: Option<Value>,
    /// The sort keys, most significant first.
    pub order_by: Vec<Sort>,
    /// How many entries a page holds at most (0: the host's cap, 100 by default).
    pub first: u32,
    /// The `end_cursor` of the previous page.
    pub after: Option<String>,
    /// The locale to resolve localized fields in; `None` for the call's locale.
    pub locale: Option<String>,
}

impl Query {
    /// All published entries of `entry_type`, in the host's default order, one full page.
    pub fn new(entry_type: impl Into<String>) -> Self {
        Self {
            entry_type: entry_type.into(),
            filter: None,
            order_by: Vec::new(),
            first: 0,
            after: None,
            locale: None,
        }
    }

    /// Only entries matching `filter`, a GraphQL `where` object.
    #[must_use]
    pub fn filter(mut self, filter: Value) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Adds a sort key (after the ones already given).
    #[must_use]
    pub fn order_by(mut self, field: impl Into<String>, direction: Direction) -> Self {
        self.order_by.push(Sort {
            field: field.into(),
            direction,
        });
        self
    }

    /// At most `n` entries per page (0 or more than the host's cap: the cap).
    #[must_use]
    pub fn first(mut self, n: u32) -> Self {
        self.first = n;
        self
    }

    /// The page after `cursor` (a previous page's `end_cursor`).
    #[must_use]
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.after = Some(cursor.into());
        self
    }

    /// Localized fields resolved in `locale` instead of the call's locale.
    #[must_use]
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }
}

/// One page of entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The entries of this page.
    pub entries: Vec<Entry>,
    /// How many entries match the filter, over all pages.
    pub total_count: u64,
    /// Pass to [`Query::after`] to read the next page; `None` on the last page.
    pub end_cursor: Option<String>,
}

/// Reads one page of published entries.
pub fn query(query: Query) -> Result<Page, HostError> {
    crate::host::query(&query)
}

/// Entries read over several pages by [`collect`].
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    /// The entries, in query order, at most the `max` given to [`collect`].
    pub entries: Vec<Entry>,
    /// How many entries match the filter in all (may exceed `entries.len()`).
    pub total_count: u64,
    /// Whether entries were left unread because of `max`.
    pub truncated: bool,
}

/// Reads every page of `query`, following `end_cursor`, until the last page or `max` entries:
/// a bounded way to get "all" entries, e.g. all events of a month.
pub fn collect(query: Query, max: usize) -> Result<Collected, HostError> {
    let mut query = query;
    let mut entries = Vec::new();
    let mut total_count;
    loop {
        let page = self::query(query.clone())?;
        total_count = page.total_count;
        let received = page.entries.len();
        entries.extend(page.entries);
        if entries.len() >= max {
            break;
        }
        match page.end_cursor {
            // A host that answers an empty page, or the same cursor again, would loop forever.
            Some(cursor) if received > 0 && query.after.as_deref() != Some(cursor.as_str()) => {
                query.after = Some(cursor);
            }
            _ => break,
        }
    }
    let truncated = entries.len() > max || (entries.len() as u64) < total_count;
    entries.truncate(max);
    Ok(Collected {
        entries,
        total_count,
        truncated,
    })
}
