//! The `zellige` binary: parse the command line, load configuration, start telemetry, run.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = zellige::cli::Cli::parse();
    let config = zellige::Config::load(cli.config.as_deref())?;
    zellige::telemetry::init(&config.log);
    zellige::cli::run(cli, config).await
}
