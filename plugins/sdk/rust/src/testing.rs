//! A mock host for native unit tests (only built for non-WebAssembly targets).
//!
//! Built natively, the SDK's host functions ([`crate::entries`], [`crate::kv`], [`crate::log`],
//! [`crate::now_ms`]) call the [`MockHost`] installed on the current thread by [`with_host`],
//! so a test can run a plugin's whole `render`:
//!
//! ```
//! use zellige_plugin::testing::{MockHost, entry, with_host};
//! use zellige_plugin::{entries, json};
//!
//! let host = MockHost::new()
//!     .at_ms(1_512_086_400_000) // 2017-12-01T00:00:00Z
//!     .with_entries(vec![entry("event", "souk", json!({"title": "سوق"}))]);
//! let (page, host) = with_host(host, || entries::query(entries::Query::new("event")));
//! assert_eq!(page.unwrap().total_count, 1);
//! assert_eq!(host.queries.len(), 1);
//! ```
//!
//! Its `entries` query understands the common `where` operators (`eq`, `ne`, `gt`, `gte`,
//! `lt`, `lte`, `in`, `contains`, and `and`/`or` lists) on the entry's data fields and on
//! `slug` and `publishedAt`; it pages with numeric cursors and applies the kv limits of the
//! contract.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::HostError;
use crate::entries::{Direction, Entry, Page, Query};
use crate::log::Level;

/// The largest page the mock host returns, like the real host's default cap.
pub const PAGE_CAP: u32 = 100;
/// The longest kv key, in bytes.
pub const KV_MAX_KEY_BYTES: usize = 256;
/// The largest kv value, in bytes.
pub const KV_MAX_VALUE_BYTES: usize = 64 * 1024;
/// How many kv keys a plugin may hold.
pub const KV_MAX_KEYS: usize = 10_000;

/// A custom answer to entries queries, replacing the built-in evaluator.
pub type QueryHandler = Box<dyn FnMut(&Query) -> Result<Page, HostError>>;

/// The state of a pretend host: what the imports read, and what the plugin did.
#[derive(Default)]
pub struct MockHost {
    /// What `now_ms()` returns.
    pub now_ms: i64,
    /// The published entries `entries::query` searches.
    pub entries: Vec<Entry>,
    /// The plugin's kv store.
    pub kv: BTreeMap<String, String>,
    /// Every message logged, in order.
    pub logs: Vec<(Level, String)>,
    /// Every entries query made, in order.
    pub queries: Vec<Query>,
    /// Capabilities refused (`log`, `entries`, `kv`, `now`); all are granted by default.
    pub denied: BTreeSet<String>,
    handler: Option<QueryHandler>,
}

impl MockHost {
    /// A host at the Unix epoch, with no entries, an empty kv store and every capability.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same host with its clock at `ms` milliseconds since the epoch.
    #[must_use]
    pub fn at_ms(mut self, ms: i64) -> Self {
        self.now_ms = ms;
        self
    }

    /// The same host with these published entries.
    #[must_use]
    pub fn with_entries(mut self, entries: Vec<Entry>) -> Self {
        self.entries = entries;
        self
    }

    /// The same host answering entries queries with `handler` instead of its evaluator.
    #[must_use]
    pub fn on_query(
        mut self,
        handler: impl FnMut(&Query) -> Result<Page, HostError> + 'static,
    ) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// The same host refusing `capability` (`log`, `entries`, `kv` or `now`).
    #[must_use]
    pub fn deny(mut self, capability: &str) -> Self {
        self.denied.insert(capability.to_owned());
        self
    }

    fn check(&self, capability: &str) -> Result<(), HostError> {
        if self.denied.contains(capability) {
            Err(HostError::Denied(format!(
                "capability `{capability}` is not granted"
            )))
        } else {
            Ok(())
        }
    }
}

/// A published entry for [`MockHost::with_entries`]: id `<type>-<slug>`, locale `ar`,
/// published at 2017-01-01.
pub fn entry(entry_type: &str, slug: &str, data: Value) -> Entry {
    Entry {
        id: format!("{entry_type}-{slug}"),
        entry_type: entry_type.to_owned(),
        slug: slug.to_owned(),
        locale: "ar".to_owned(),
        published_at: Some("2017-01-01T00:00:00Z".to_owned()),
        data,
    }
}

thread_local! {
    static HOST: RefCell<Option<MockHost>> = const { RefCell::new(None) };
}

/// Runs `f` with `host` installed on this thread, then returns what `f` returned and the host
/// as `f` left it (its kv store, logs and queries).
pub fn with_host<R>(host: MockHost, f: impl FnOnce() -> R) -> (R, MockHost) {
    let previous = HOST.with(|cell| cell.replace(Some(host)));
    let result = f();
    let host = HOST.with(|cell| cell.replace(previous)).unwrap_or_default();
    (result, host)
}

/// Runs `f` on the installed host, if any.
fn on_host<R>(f: impl FnOnce(&mut MockHost) -> R) -> Option<R> {
    HOST.with(|cell| cell.borrow_mut().as_mut().map(f))
}

fn no_host() -> HostError {
    HostError::Unavailable(
        "no host: natively, install a mock host with zellige_plugin::testing::with_host".into(),
    )
}

/// The native implementations of the host imports.
pub(crate) mod host {
    use super::*;

    pub(crate) fn log(level: Level, message: &str) {
        let logged = on_host(|host| {
            if host.check("log").is_ok() {
                host.logs.push((level, message.to_owned()));
            }
        });
        if logged.is_none() {
            eprintln!("[{level:?}] {message}");
        }
    }

    pub(crate) fn now_ms() -> i64 {
        on_host(|host| {
            if host.check("now").is_ok() {
                host.now_ms
            } else {
                0
            }
        })
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        })
    }

    pub(crate) fn query(query: &Query) -> Result<Page, HostError> {
        // Take the handler out so that it may not re-enter the host's cell.
        let handler = on_host(|host| {
            host.check("entries")?;
            host.queries.push(query.clone());
            Ok::<_, HostError>(host.handler.take())
        })
        .ok_or_else(no_host)??;
        match handler {
            Some(mut handler) => {
                let page = handler(query);
                on_host(|host| host.handler = Some(handler));
                page
            }
            None => on_host(|host| evaluate(&host.entries, query)).ok_or_else(no_host)?,
        }
    }

    pub(crate) fn kv_get(key: &str) -> Result<Option<String>, HostError> {
        on_host(|host| {
            host.check("kv")?;
            check_key(key)?;
            Ok(host.kv.get(key).cloned())
        })
        .ok_or_else(no_host)?
    }

    pub(crate) fn kv_set(key: &str, value: &str) -> Result<(), HostError> {
        on_host(|host| {
            host.check("kv")?;
            check_key(key)?;
            store(host, key, value.to_owned())
        })
        .ok_or_else(no_host)?
    }

    pub(crate) fn kv_delete(key: &str) -> Result<(), HostError> {
        on_host(|host| {
            host.check("kv")?;
            check_key(key)?;
            host.kv.remove(key);
            Ok(())
        })
        .ok_or_else(no_host)?
    }

    pub(crate) fn kv_increment(key: &str, delta: i64) -> Result<i64, HostError> {
        on_host(|host| {
            host.check("kv")?;
            check_key(key)?;
            let current = match host.kv.get(key) {
                None => 0,
                Some(text) => text.parse::<i64>().map_err(|_| {
                    HostError::Invalid(format!("the value at `{key}` is not an integer"))
                })?,
            };
            let next = current
                .checked_add(delta)
                .ok_or_else(|| HostError::Invalid("integer overflow".into()))?;
            store(host, key, next.to_string())?;
            Ok(next)
        })
        .ok_or_else(no_host)?
    }

    fn check_key(key: &str) -> Result<(), HostError> {
        if key.is_empty() {
            return Err(HostError::Invalid("the key is empty".into()));
        }
        if key.len() > KV_MAX_KEY_BYTES {
            return Err(HostError::Invalid(format!(
                "the key is longer than {KV_MAX_KEY_BYTES} bytes"
            )));
        }
        Ok(())
    }

    fn store(host: &mut MockHost, key: &str, value: String) -> Result<(), HostError> {
        if value.len() > KV_MAX_VALUE_BYTES {
            return Err(HostError::Invalid(format!(
                "the value is larger than {KV_MAX_VALUE_BYTES} bytes"
            )));
        }
        if !host.kv.contains_key(key) && host.kv.len() >= KV_MAX_KEYS {
            return Err(HostError::Limit(format!(
                "a plugin holds at most {KV_MAX_KEYS} keys"
            )));
        }
        host.kv.insert(key.to_owned(), value);
        Ok(())
    }
}

/// The built-in evaluator: filter, sort, page.
fn evaluate(entries: &[Entry], query: &Query) -> Result<Page, HostError> {
    let mut matching = Vec::new();
    for entry in entries.iter().filter(|e| e.entry_type == query.entry_type) {
        let keep = match &query.filter {
            None => true,
            Some(filter) => matches(entry, filter)?,
        };
        if keep {
            matching.push(entry);
        }
    }
    matching.sort_by(|a, b| {
        query
            .order_by
            .iter()
            .map(|sort| {
                let ordering = compare_opt(field(a, &sort.field), field(b, &sort.field));
                match sort.direction {
                    Direction::Asc => ordering,
                    Direction::Desc => ordering.reverse(),
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let start = match &query.after {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .map_err(|_| HostError::Invalid(format!("bad cursor `{cursor}`")))?,
    };
    let size = match query.first {
        0 => PAGE_CAP,
        n => n.min(PAGE_CAP),
    } as usize;
    let end = (start + size).min(matching.len());
    let page: Vec<Entry> = matching
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|e| match &query.locale {
            Some(locale) => Entry {
                locale: locale.clone(),
                ..(*e).clone()
            },
            None => (*e).clone(),
        })
        .collect();
    Ok(Page {
        entries: page,
        total_count: matching.len() as u64,
        end_cursor: (end < matching.len()).then(|| end.to_string()),
    })
}

fn field(entry: &Entry, name: &str) -> Option<Value> {
    match name {
        "id" => Some(Value::String(entry.id.clone())),
        "slug" => Some(Value::String(entry.slug.clone())),
        "publishedAt" => entry.published_at.clone().map(Value::String),
        _ => entry.data.get(name).cloned(),
    }
}

fn matches(entry: &Entry, filter: &Value) -> Result<bool, HostError> {
    let Value::Object(conditions) = filter else {
        return Err(HostError::Invalid("`where` must be an object".into()));
    };
    for (key, condition) in conditions {
        let ok = match key.as_str() {
            "and" | "or" => {
                let Value::Array(parts) = condition else {
                    return Err(HostError::Invalid(format!("`{key}` must be a list")));
                };
                let results = parts
                    .iter()
                    .map(|part| matches(entry, part))
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "and" {
                    results.iter().all(|r| *r)
                } else {
                    results.iter().any(|r| *r)
                }
            }
            name => field_matches(field(entry, name).as_ref(), name, condition)?,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn field_matches(value: Option<&Value>, name: &str, condition: &Value) -> Result<bool, HostError> {
    let Value::Object(ops) = condition else {
        return Err(HostError::Invalid(format!(
            "the condition on `{name}` must be an object of operators"
        )));
    };
    for (op, operand) in ops {
        let ordering = || compare_opt(value.cloned(), Some(operand.clone()));
        let ok = match op.as_str() {
            "eq" => value == Some(operand),
            "ne" => value != Some(operand),
            "gt" => value.is_some() && ordering().is_gt(),
            "gte" => value.is_some() && ordering().is_ge(),
            "lt" => value.is_some() && ordering().is_lt(),
            "lte" => value.is_some() && ordering().is_le(),
            "in" => match operand {
                Value::Array(options) => value.is_some_and(|v| options.contains(v)),
                _ => return Err(HostError::Invalid(format!("`{name}.in` must be a list"))),
            },
            "contains" => match (value, operand) {
                (Some(Value::String(text)), Value::String(part)) => text.contains(part.as_str()),
                (Some(Value::Array(items)), item) => items.contains(item),
                _ => false,
            },
            other => {
                return Err(HostError::Invalid(format!(
                    "unknown operator `{other}` on `{name}`"
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Orders JSON scalars: numbers numerically, strings by code point, absent values last.
fn compare_opt(a: Option<Value>, b: Option<Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(&y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(&y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{entries, kv, log};
    use serde_json::json;

    fn events() -> Vec<Entry> {
        (1..=7)
            .map(|d| {
                entry(
                    "event",
                    &format!("e{d}"),
                    json!({"title": format!("event {d}"), "startsAt": format!("2017-12-0{d}T10:00:00Z"), "city": if d % 2 == 0 { "آسفي" } else { "مراكش" }}),
                )
            })
            .collect()
    }

    #[test]
    fn queries_filter_sort_and_page() {
        let host = MockHost::new().with_entries(events());
        let (result, host) = with_host(host, || {
            entries::collect(
                entries::Query::new("event")
                    .filter(json!({"startsAt": {"gte": "2017-12-02T00:00:00Z", "lt": "2017-12-07T00:00:00Z"}, "city": {"eq": "مراكش"}}))
                    .order_by("startsAt", entries::Direction::Desc)
                    .first(1),
                10,
            )
        });
        let collected = result.unwrap();
        let slugs: Vec<_> = collected.entries.iter().map(|e| e.slug.as_str()).collect();
        assert_eq!(slugs, ["e5", "e3"]);
        assert_eq!(collected.total_count, 2);
        assert!(!collected.truncated);
        assert_eq!(host.queries.len(), 2, "one query per page");
    }

    #[test]
    fn collect_stops_at_max() {
        let host = MockHost::new().with_entries(events());
        let (result, _) = with_host(host, || {
            entries::collect(entries::Query::new("event").first(2), 3)
        });
        let collected = result.unwrap();
        assert_eq!(collected.entries.len(), 3);
        assert_eq!(collected.total_count, 7);
        assert!(collected.truncated);
    }

    #[test]
    fn unknown_operators_are_invalid() {
        let host = MockHost::new().with_entries(events());
        let (result, _) = with_host(host, || {
            entries::query(entries::Query::new("event").filter(json!({"status": {"is": "draft"}})))
        });
        assert!(matches!(result, Err(HostError::Invalid(_))));
    }

    #[test]
    fn kv_limits_and_denial() {
        let (results, host) = with_host(MockHost::new(), || {
            (
                kv::increment("n", 2),
                kv::increment("n", 3),
                kv::set(&"k".repeat(257), "v"),
                kv::set("big", &"v".repeat(64 * 1024 + 1)),
                kv::get("n"),
            )
        });
        assert_eq!(results.0, Ok(2));
        assert_eq!(results.1, Ok(5));
        assert!(matches!(results.2, Err(HostError::Invalid(_))));
        assert!(matches!(results.3, Err(HostError::Invalid(_))));
        assert_eq!(results.4, Ok(Some("5".to_owned())));
        assert_eq!(host.kv.len(), 1);

        let (result, _) = with_host(MockHost::new().deny("kv"), || kv::get("n"));
        assert!(matches!(result, Err(HostError::Denied(_))));
    }

    #[test]
    fn logs_and_clock() {
        let (now, host) = with_host(MockHost::new().at_ms(42), || {
            log::info("مرحبا");
            crate::now_ms()
        });
        assert_eq!(now, 42);
        assert_eq!(host.logs, vec![(Level::Info, "مرحبا".to_owned())]);
    }

    #[test]
    fn custom_handler() {
        let host = MockHost::new()
            .on_query(|q| Err(HostError::Unavailable(format!("no {}", q.entry_type))));
        let (result, _) = with_host(host, || entries::query(entries::Query::new("event")));
        assert_eq!(result, Err(HostError::Unavailable("no event".into())));
    }

    #[test]
    fn without_a_host() {
        assert!(matches!(
            entries::query(entries::Query::new("event")),
            Err(HostError::Unavailable(_))
        ));
    }
}
