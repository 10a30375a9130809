//! The host imports behind the safe wrappers: the component's imports on `wasm32`, the mock
//! host of [`crate::testing`] elsewhere.

#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::*;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::host::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use crate::HostError;
    use crate::bindings::zellige::plugin as wit;
    use crate::entries::{Direction, Page, Query};
    use crate::log::Level;

    pub(crate) fn log(level: Level, message: &str) {
        let level = match level {
            Level::Debug => wit::log::Level::Debug,
            Level::Info => wit::log::Level::Info,
            Level::Warn => wit::log::Level::Warn,
            Level::Error => wit::log::Level::Error,
        };
        wit::log::log(level, message);
    }

    pub(crate) fn now_ms() -> i64 {
        wit::clock::now()
    }

    pub(crate) fn query(query: &Query) -> Result<Page, HostError> {
        let raw = wit::entries::EntryQuery {
            entry_type: query.entry_type.clone(),
            where_json: query
                .filter
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            order_by: query
                .order_by
                .iter()
                .map(|sort| wit::entries::Sort {
                    field: sort.field.clone(),
                    direction: match sort.direction {
                        Direction::Asc => wit::entries::Direction::Asc,
                        Direction::Desc => wit::entries::Direction::Desc,
                    },
                })
                .collect(),
            first: query.first,
            after: query.after.clone(),
            locale: query.locale.clone(),
        };
        let page = wit::entries::query(&raw).map_err(crate::glue::host_error)?;
        Ok(Page {
            entries: page
                .entries
                .into_iter()
                .map(crate::glue::entry)
                .collect::<Result<_, _>>()?,
            total_count: page.total_count,
            end_cursor: page.end_cursor,
        })
    }

    pub(crate) fn kv_get(key: &str) -> Result<Option<String>, HostError> {
        wit::kv::get(key).map_err(crate::glue::host_error)
    }

    pub(crate) fn kv_set(key: &str, value: &str) -> Result<(), HostError> {
        wit::kv::set(key, value).map_err(crate::glue::host_error)
    }

    pub(crate) fn kv_delete(key: &str) -> Result<(), HostError> {
        wit::kv::delete(key).map_err(crate::glue::host_error)
    }

    pub(crate) fn kv_increment(key: &str, delta: i64) -> Result<i64, HostError> {
        wit::kv::increment(key, delta).map_err(crate::glue::host_error)
    }
}
