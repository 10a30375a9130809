//! One tracing subscriber for the process: `RUST_LOG` if set, else the configured filter;
//! human-readable or JSON lines. Logs go to stderr so that CLI output on stdout stays clean.

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

pub fn init(config: &LogConfig) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(config.filter.clone()));
    // Colours only on a terminal: in a file or a pipe escape codes are noise (and `NO_COLOR`
    // turns them off anywhere).
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // `try_init` so that tests and embedders that already installed one keep theirs.
    let _ = if config.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
