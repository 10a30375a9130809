//! A small key-value store of this plugin in this tenant (capability `kv`).
//!
//! Keys are at most 256 bytes, values at most 64 KiB, and a plugin holds at most 10,000 keys
//! per tenant; over a limit the host answers [`HostError::Invalid`] or [`HostError::Limit`].
//! Every call is a host round trip: read what you need once per render.

use crate::HostError;

/// The value stored at `key`, if any.
pub fn get(key: &str) -> Result<Option<String>, HostError> {
    crate::host::kv_get(key)
}

/// Stores `value` at `key`, replacing what was there.
pub fn set(key: &str, value: &str) -> Result<(), HostError> {
    crate::host::kv_set(key, value)
}

/// Removes `key` (nothing happens when it is absent).
pub fn delete(key: &str) -> Result<(), HostError> {
    crate::host::kv_delete(key)
}

/// Adds `delta` to the integer stored at `key` (absent counts as 0) and returns the new value.
/// Atomic: concurrent renders never lose an increment, so it suits counters and rotations.
pub fn increment(key: &str, delta: i64) -> Result<i64, HostError> {
    crate::host::kv_increment(key, delta)
}
