//! The `zellige` binary: parse the command line, load configuration, start telemetry, run.

use clap::Parser;

/// mimalloc instead of the system allocator: request handling allocates many short-lived
/// values across threads, where glibc's malloc spent a fifth of the CPU in profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = zellige::cli::Cli::parse();
    let config = zellige::Config::load(cli.config.as_deref())?;
    zellige::telemetry::init(&config.log);
    zellige::cli::run(cli, config).await
}
