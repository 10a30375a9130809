//! Write to the server's log, tagged with the tenant and the plugin (capability `log`).
//!
//! Messages over 4 KiB are cut and a call writes at most 100 messages; without the capability
//! the messages are dropped. Natively they go to the mock host (see [`crate::testing`]), or to
//! standard error when none is installed.

/// How important a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Details for whoever debugs the plugin.
    Debug,
    /// Normal events worth keeping.
    Info,
    /// Something looks wrong but the call goes on.
    Warn,
    /// The call could not do its job.
    Error,
}

/// Writes `message` at `level`.
pub fn log(level: Level, message: impl AsRef<str>) {
    crate::host::log(level, message.as_ref());
}

/// Writes a debugging message.
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message);
}

/// Writes an informational message.
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message);
}

/// Writes a warning.
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message);
}

/// Writes an error.
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message);
}
