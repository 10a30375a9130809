//! The `zellige` binary: parse the command line, load configuration, start telemetry, run.

use clap::Parser;

/// mimalloc instead of the system allocator: request handling allocates many short-lived
/// values across threads, where glibc's malloc spent a fifth of the CPU in profiles.
#[global_allocator]
static GLOBAL: zellige_allocator::MiMalloc = zellige_allocator::MiMalloc;

fn main() -> anyhow::Result<()> {
    zellige_allocator::bound_resident_memory();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = zellige::cli::Cli::parse();
    if let zellige::cli::Command::CompilePlugin = cli.command {
        // A child of the server: no configuration, database or telemetry of its own.
        return zellige::plugins::compiler::compile_from_stdin();
    }
    let config = zellige::Config::load(cli.config.as_deref())?;
    zellige::telemetry::init(&config.log);
    zellige::cli::run(cli, config).await
}
