//! The `zellige` command line (SPEC §3). Parses arguments with clap and calls the library; the
//! only place besides `main` that uses `anyhow` for errors.

use std::collections::HashSet;
use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::auth::{self, Role, TokenKind};
use crate::config::Config;
use crate::content::Content;
use crate::content::transfer::EntryLine;
use crate::http::{self, AppState};
use crate::store::db;
use crate::tenancy::{self, NewTenant};

/// Zellige: a multi-tenant headless CMS.
#[derive(Debug, Parser)]
#[command(name = "zellige", version, about)]
pub struct Cli {
    /// Configuration file (default: ./zellige.toml if present).
    #[arg(long, global = true, env = "ZELLIGE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies pending migrations first).
    Serve(ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Print the effective configuration, secrets masked.
    Config,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage platform operators (they create and delete tenants over the admin API).
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Print GraphQL schemas.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Load entries from a JSON Lines file (idempotent: existing ids are skipped).
    Import(ImportArgs),
    /// Write a tenant's entries as JSON Lines.
    Export(ExportArgs),
    /// Rebuild the search index from the database (every tenant, or one).
    Reindex {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Manage plugins: install components, enable them per tenant.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Internal: compile one component into the disk cache for a running server (reads the
    /// job and the component on standard input; see `plugins::compiler`).
    #[command(hide = true)]
    CompilePlugin,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Install a plugin (a wasm32-wasip2 component and its plugin.toml). Without --tenant it is
    /// a platform plugin offered to every tenant; with --tenant, a private plugin of that tenant.
    Install {
        /// The component (.wasm).
        file: PathBuf,
        /// The plugin's manifest.
        #[arg(long)]
        manifest: PathBuf,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List the plugins a tenant can use (or the platform plugins).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Enable a plugin for a tenant, with its configuration and capability grants.
    Enable {
        id: String,
        #[arg(long)]
        tenant: String,
        /// Version to use (default: the current one, else the latest).
        #[arg(long)]
        version: Option<String>,
        /// Capabilities granted (log, entries, kv, now), comma separated; default none.
        #[arg(long, value_delimiter = ',')]
        grant: Option<Vec<String>>,
        /// Grant every capability the plugin's manifest asks for.
        #[arg(long, conflicts_with = "grant")]
        grant_all: bool,
        /// The configuration as a JSON object (checked against the plugin's schema).
        #[arg(long)]
        config: Option<String>,
    },
    /// Disable a plugin for a tenant (its setup is kept).
    Disable {
        id: String,
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind (default 127.0.0.1:4000).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Create the demo tenants, content and tokens if absent, and print them.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with the built-in content types.
    Create {
        slug: String,
        #[arg(long)]
        name: String,
        /// Locales, the default first.
        #[arg(long, value_delimiter = ',', default_value = "ar,fr")]
        locales: Vec<String>,
        /// Host names that resolve to this tenant.
        #[arg(long, value_delimiter = ',')]
        domains: Vec<String>,
    },
    /// List tenants.
    List,
    /// Delete a tenant and all its content.
    Delete {
        slug: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is printed once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum)]
        kind: TokenKind,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin (or prompted for on a terminal).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator; the password is read from stdin (or prompted for on a terminal).
    Create {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print a tenant's GraphQL SDL.
    Print {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[arg(long)]
    pub tenant: String,
    pub file: PathBuf,
    /// The media directory written by `export` (default: `<file>.media` when it exists).
    #[arg(long)]
    pub media: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub tenant: String,
    /// Output file (default: stdout).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Directory for the media library (`assets.jsonl` and the files); default
    /// `<output>.media` when writing to a file.
    #[arg(long)]
    pub media: Option<PathBuf>,
}

/// Runs a parsed command.
pub async fn run(cli: Cli, mut config: Config) -> anyhow::Result<()> {
    if let Command::Serve(args) = &cli.command
        && let Some(bind) = args.bind
    {
        config.bind = bind;
    }
    if let Command::Config = cli.command {
        println!("{}", config.to_masked_json());
        return Ok(());
    }
    let config = Arc::new(config);
    let db = db::connect(&config).await?;
    db::migrate(&db).await?;
    let content = Content::new(db.clone(), &config.limits);
    match cli.command {
        Command::Config => {}
        Command::Migrate => println!("migrations applied"),
        Command::Serve(args) => serve(config, db, content, args.demo).await?,
        Command::Tenant(TenantCommand::Create {
            slug,
            name,
            locales,
            domains,
        }) => {
            let ctx = tenancy::create(
                &db,
                NewTenant {
                    slug,
                    name,
                    locales,
                    domains,
                },
                &config.platform_hosts,
            )
            .await?;
            println!(
                "created tenant {} ({}), locales {}",
                ctx.slug(),
                ctx.id(),
                ctx.locales().join(",")
            );
        }
        Command::Tenant(TenantCommand::List) => {
            for t in tenancy::list(&db).await? {
                println!("{}\t{}\t{}", t.slug(), t.locales().join(","), t.name());
            }
        }
        Command::Tenant(TenantCommand::Delete { slug, yes }) => {
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!("refusing to delete tenant {slug} without --yes");
                }
                eprint!("Delete tenant {slug} and all its content? Type its slug to confirm: ");
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer)?;
                if answer.trim() != slug {
                    bail!("not confirmed");
                }
            }
            tenancy::delete(&db, &slug).await?;
            println!("deleted tenant {slug}");
        }
        Command::Token(TokenCommand::Create {
            tenant,
            kind,
            name,
            expires_in_days,
        }) => {
            let ctx = tenancy::by_slug(&db, &tenant).await?;
            let expires_at =
                expires_in_days.map(|d| crate::time::now_ms() + i64::from(d) * 86_400_000);
            let token = auth::create_token(&db, &ctx, kind, &name, expires_at, "cli").await?;
            eprintln!(
                "{} token {} for {} (shown once):",
                kind.as_str(),
                token.id,
                ctx.slug()
            );
            println!("{}", token.secret);
        }
        Command::User(UserCommand::Create {
            tenant,
            email,
            role,
        }) => {
            let ctx = tenancy::by_slug(&db, &tenant).await?;
            let password = read_password()?;
            let user = auth::create_user(
                &db,
                &ctx,
                auth::NewUser {
                    email,
                    role,
                    password,
                },
                "cli",
            )
            .await?;
            println!(
                "created user {} ({}) in {}",
                user.id,
                role.as_str(),
                ctx.slug()
            );
        }
        Command::Operator(OperatorCommand::Create { email }) => {
            let password = read_password()?;
            let id = auth::create_operator(&db, &email, &password).await?;
            println!("created operator {id}");
        }
        Command::Schema(SchemaCommand::Print { tenant }) => {
            let ctx = tenancy::by_slug(&db, &tenant).await?;
            let model = content.model(&ctx).await?;
            let schema = crate::graphql::builder::build_schema(&model, &config.graphql_limits())?;
            print!("{}", schema.sdl());
        }
        Command::Plugin(cmd) => plugin(&config, &db, &content, cmd).await?,
        Command::Reindex { tenant } => reindex(&config, &db, &content, tenant).await?,
        Command::CompilePlugin => crate::plugins::compiler::compile_from_stdin()?,
        Command::Import(args) => import(&content, &media_of(&config, &content)?, &args).await?,
        Command::Export(args) => export(&content, &media_of(&config, &content)?, &args).await?,
    }
    Ok(())
}

async fn plugin(
    config: &Config,
    db: &crate::store::Db,
    content: &Content,
    cmd: PluginCommand,
) -> anyhow::Result<()> {
    use crate::plugins::registry::{self, EnableInput, Scope};
    let host = crate::plugins::PluginHost::new(
        &config.plugins,
        &config.data_dir.join("plugin-cache"),
        db.clone(),
        content.clone(),
    )?;
    let print = |info: &registry::PluginInfo| {
        let setup = match &info.setup {
            Some(s) if s.enabled => {
                format!("enabled {} grants [{}]", s.version, s.grants.join(","))
            }
            Some(_) => "disabled".to_owned(),
            None => "-".to_owned(),
        };
        println!(
            "{}\t{}\t{}\twidgets [{}]\t{}",
            info.id,
            info.latest_version,
            info.scope,
            info.widgets.join(","),
            setup
        );
    };
    match cmd {
        PluginCommand::Install {
            file,
            manifest,
            tenant,
        } => {
            let wasm =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            let ctx = match &tenant {
                Some(t) => Some(tenancy::by_slug(db, t).await?),
                None => None,
            };
            let scope = match &ctx {
                Some(c) => Scope::Tenant(c),
                None => Scope::Platform,
            };
            let info = registry::install(&host, scope, wasm, &text, "cli").await?;
            println!(
                "installed {} {} ({})",
                info.id, info.latest_version, info.scope
            );
        }
        PluginCommand::List { tenant } => {
            let ctx = match &tenant {
                Some(t) => Some(tenancy::by_slug(db, t).await?),
                None => None,
            };
            for info in registry::list(&host, ctx.as_ref()).await? {
                print(&info);
            }
        }
        PluginCommand::Enable {
            id,
            tenant,
            version,
            grant,
            grant_all,
            config,
        } => {
            let ctx = tenancy::by_slug(db, &tenant).await?;
            let config = config
                .map(|c| serde_json::from_str(&c).context("--config is not JSON"))
                .transpose()?;
            let grants = if grant_all {
                let info = registry::info(&host, Some(&ctx), &id)
                    .await?
                    .with_context(|| format!("plugin {id} is not installed"))?;
                Some(info.capabilities)
            } else {
                grant
            };
            let info = registry::enable(
                &host,
                &ctx,
                &id,
                EnableInput {
                    version,
                    config,
                    grants,
                    limits: None,
                },
                "cli",
            )
            .await?;
            print(&info);
        }
        PluginCommand::Disable { id, tenant } => {
            let ctx = tenancy::by_slug(db, &tenant).await?;
            print(&registry::disable(&host, &ctx, &id, "cli").await?);
        }
    }
    Ok(())
}

/// Rebuilds each tenant's index with a progress bar; searches keep answering from the old
/// index meanwhile. The rebuild is first offered to a running server: the position of its
/// indexer is reset, and an indexer that sees a reset rebuilds the tenant itself, so no batch
/// it is applying can land on an index that is being replaced. When no indexer takes it up
/// within a few passes (no server runs), the rebuild happens here.
async fn reindex(
    config: &Config,
    db: &crate::store::Db,
    content: &Content,
    tenant: Option<String>,
) -> anyhow::Result<()> {
    use crate::search::{Search, worker};
    use crate::store::outbox;
    let tenants = match tenant {
        Some(slug) => vec![tenancy::by_slug(db, &slug).await?],
        None => tenancy::list(db).await?,
    };
    let search = Search::from_config(config)?;
    let grace = std::time::Duration::from_millis(3 * config.search_interval_ms.max(10) + 2_000);
    for ctx in tenants {
        let total = content.count_published(&ctx).await?;
        let bar = progress(u64::try_from(total).unwrap_or(0), ctx.slug());
        let latest = outbox::latest(db, &ctx).await?;
        if latest > 0 {
            outbox::reset_position(db, search.consumer(), &ctx).await?;
            bar.set_message(format!("{}: offered to a running server", ctx.slug()));
            let started = std::time::Instant::now();
            let started_ms = crate::time::now_ms();
            let mut taken = false;
            while started.elapsed() < std::time::Duration::from_secs(600) {
                if outbox::position(db, search.consumer(), &ctx).await? >= latest {
                    taken = true;
                    break;
                }
                if started.elapsed() > grace
                    && outbox::touched_at(db, search.consumer(), &ctx).await? < started_ms
                {
                    break; // no indexer took it up
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            if taken {
                bar.finish_with_message(format!("{}: rebuilt by the running server", ctx.slug()));
                continue;
            }
        }
        let n = worker::rebuild(&search, content, &ctx, |n| bar.set_position(n)).await?;
        outbox::acknowledge(db, search.consumer(), &ctx, latest, crate::time::now_ms()).await?;
        bar.finish_with_message(format!("{}: {n} entries indexed", ctx.slug()));
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!(
            "Password (echoed; at least {} characters): ",
            auth::PASSWORD_MIN
        );
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn serve(
    config: Arc<Config>,
    db: crate::store::Db,
    content: Content,
    demo: bool,
) -> anyhow::Result<()> {
    db::optimize(&db).await;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(config.clone(), db)?;
    if let Some(host) = &state.plugins {
        match std::env::current_exe() {
            Ok(exe) => host.compile_in_child(crate::plugins::compiler::ChildCompiler::new(exe)),
            Err(e) => tracing::warn!(error = %e, "plugins compile in process"),
        }
        match host.warm().await {
            Ok(n) => tracing::info!(components = n, "plugins loaded"),
            Err(e) => tracing::warn!(error = %e, "loading plugins"),
        }
    }
    if demo {
        let tenants = crate::demo::ensure(&content, &state.media, &config.data_dir).await?;
        if let Some(host) = &state.plugins {
            crate::demo::ensure_plugins(host, &state.db).await?;
        }
        println!("Zellige demo on http://{addr}");
        for t in tenants {
            println!("  tenant {} ({})", t.slug, t.name);
            println!("    public token: {}", t.public_token);
            println!("    editor token: {}", t.editor_token);
            if !t.admin_email.is_empty() {
                println!(
                    "    admin UI:     http://{addr}/admin  (tenant {}, {} / {})",
                    t.slug, t.admin_email, t.admin_password
                );
            }
        }
        println!("  health:  http://{addr}/healthz   readiness: http://{addr}/readyz");
    }
    match state
        .content
        .reads()
        .warm(config.db.postgres_readers_warm)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(connections = n, "read connections opened"),
        Err(e) => tracing::warn!(error = %e, "opening read connections ahead; opened on demand"),
    }
    match crate::store::db::warm(&state.db, config.db.postgres_pool_warm).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(connections = n, "pool connections opened"),
        Err(e) => tracing::warn!(error = %e, "opening pool connections ahead; opened on demand"),
    }
    tracing::info!(%addr, "listening");
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        http::shutdown_signal().await;
        signal.cancel();
    });
    http::serve(listener, state.clone(), shutdown).await?;
    // Closed rather than dropped: each connection says goodbye to the server.
    state.content.reads().close().await;
    if let Err(e) = state.db.close_by_ref().await {
        tracing::warn!(error = %e, "closing the database connections");
    }
    tracing::info!("stopped");
    Ok(())
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

async fn import(
    content: &Content,
    media: &crate::media::Media,
    args: &ImportArgs,
) -> anyhow::Result<()> {
    let ctx = tenancy::by_slug(content.db(), &args.tenant).await?;
    // Media first: entries name assets, which must exist when they are written.
    let media_dir = args.media.clone().or_else(|| {
        let d = media_dir_of(&args.file);
        d.join("assets.jsonl").exists().then_some(d)
    });
    if let Some(dir) = media_dir {
        let (created, present) = crate::media::transfer::import(media, &ctx, &dir).await?;
        println!(
            "imported {created} media assets into {} ({present} already present)",
            ctx.slug()
        );
    }
    // First pass: parse every line, so a malformed file fails before anything is written, and
    // note each entry's id, so references may point at entries later in the file. Lines are
    // read one at a time in both passes: memory holds the ids and one batch, not the file.
    let open = || {
        std::fs::File::open(&args.file)
            .map(std::io::BufReader::new)
            .with_context(|| format!("opening {}", args.file.display()))
    };
    let mut known: HashSet<(String, String)> = HashSet::new();
    let mut total = 0u64;
    for item in entry_lines(open()?, &args.file) {
        let (_, line) = item?;
        if let Some(id) = line.id {
            known.insert((line.entry_type, id));
        }
        total += 1;
    }
    let bar = progress(total, "importing");
    let batch = content_batch(content);
    let (mut created, mut skipped) = (0, 0);
    let mut statistics = crate::content::transfer::ImportStatistics::default();
    let mut chunk = Vec::with_capacity(batch);
    let mut lines = entry_lines(open()?, &args.file);
    loop {
        let next = lines.next().transpose()?;
        let done = next.is_none();
        if let Some(line) = next {
            chunk.push(line);
            if chunk.len() < batch {
                continue;
            }
        }
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len() as u64;
        let stats = content
            .import_batch(&ctx, std::mem::take(&mut chunk), &known)
            .await
            .map_err(|e| {
                bar.abandon();
                anyhow::anyhow!("{}: {}", args.file.display(), describe_line_error(&e))
            })?;
        created += stats.created;
        skipped += stats.skipped;
        content
            .analyze_as_import_grows(&mut statistics, stats.created)
            .await?;
        bar.inc(n);
        if done {
            break;
        }
    }
    if created >= ANALYZE_AFTER {
        // Fresh statistics, so the planner weighs filters and sorts by the data now there.
        content.analyze().await?;
    }
    bar.finish_and_clear();
    println!(
        "imported {created} entries into {} ({skipped} already present)",
        ctx.slug()
    );
    Ok(())
}

/// Imports at least this large refresh the planner's statistics when done.
const ANALYZE_AFTER: u64 = 1_000;

/// The non-empty lines of an import file, parsed one at a time, with their 1-based numbers;
/// errors name the file and the line.
fn entry_lines<'a>(
    reader: impl BufRead + 'a,
    path: &'a std::path::Path,
) -> impl Iterator<Item = anyhow::Result<(usize, EntryLine)>> + 'a {
    reader
        .lines()
        .enumerate()
        .filter(|(_, raw)| raw.as_ref().map_or(true, |r| !r.trim().is_empty()))
        .map(move |(i, raw)| {
            let raw = raw.with_context(|| format!("reading {}", path.display()))?;
            let line: EntryLine = serde_json::from_str(&raw)
                .with_context(|| format!("{}: line {}", path.display(), i + 1))?;
            Ok((i + 1, line))
        })
}

fn describe_line_error(e: &crate::content::transfer::LineError) -> String {
    let fields = e.error.fields();
    if fields.is_empty() {
        // The operator sees the whole chain, database errors included.
        let mut text = format!("line {}: {}", e.line, e.error);
        let mut source = std::error::Error::source(&e.error);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    } else {
        format!("line {}: {}", e.line, crate::error::describe_fields(fields))
    }
}

fn content_batch(content: &Content) -> usize {
    content.import_batch_size()
}

/// The media service for a command (the server has its own in `AppState`).
fn media_of(config: &Config, content: &Content) -> anyhow::Result<crate::media::Media> {
    crate::media::Media::new(
        content.db().clone(),
        content.clone(),
        &config.media,
        &config.data_dir,
    )
}

/// `<file>.media`, beside an export file.
fn media_dir_of(file: &std::path::Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".media");
    PathBuf::from(name)
}

async fn export(
    content: &Content,
    media: &crate::media::Media,
    args: &ExportArgs,
) -> anyhow::Result<()> {
    let ctx = tenancy::by_slug(content.db(), &args.tenant).await?;
    let media_dir = args
        .media
        .clone()
        .or_else(|| args.output.as_deref().map(media_dir_of));
    match media_dir {
        Some(dir) => {
            let n = crate::media::transfer::export(media, &ctx, &dir).await?;
            eprintln!(
                "exported {n} media assets of {} to {}",
                ctx.slug(),
                dir.display()
            );
        }
        None => {
            let n = media.all(&ctx).await?.len();
            if n > 0 {
                eprintln!(
                    "warning: {n} media assets are not exported; pass --media DIR (or --output FILE) to carry them"
                );
            }
        }
    }
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let bar = ProgressBar::new_spinner();
    bar.set_message("exporting");
    let mut after: Option<String> = None;
    let mut n = 0u64;
    loop {
        let page = content.export_page(&ctx, after.as_deref(), 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for line in &page {
            serde_json::to_writer(&mut out, line)?;
            out.write_all(b"\n")?;
        }
        n += page.len() as u64;
        bar.set_position(n);
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("exported {n} entries of {}", ctx.slug());
    Ok(())
}
