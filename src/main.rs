//! The `tokenvault` command: the server and its administration commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokenvault::cli::{self, admin};

/// A credential vault for backend applications: stores OAuth2 tokens, API keys and JWTs
/// encrypted, and hands back a usable credential on request.
///
/// Settings come from the environment (and `.env`): DATABASE_URL (default
/// sqlite://./data/tokenvault.db), SECRET_TOKEN_ENC_KEY, TOKENVAULT_BIND (default
/// 127.0.0.1:8000), TOKENVAULT_BOOTSTRAP_API_KEY, PROVIDERS_FILE, TOKENVAULT_LOG,
/// TOKENVAULT_LOG_FORMAT. See README.md.
///
/// The client commands (get, export, run, ls, providers, refresh, log, connect) talk to a running server:
/// --url / TOKENVAULT_URL (default http://127.0.0.1:8000), --api-key / TOKENVAULT_API_KEY (an
/// agk_… key or agat_… access token). Their exit codes: 0 ok, 2 usage, 3 re-authorize, 4 retry
/// later (503, timeout, server unreachable), 5 not found, 6 unauthorized or forbidden, 1 other.
#[derive(Parser)]
#[command(name = "tokenvault", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a new random Fernet key for SECRET_TOKEN_ENC_KEY.
    GenKey,
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(admin::KeysCommand),
    /// Re-encrypt every stored credential with the first key of SECRET_TOKEN_ENC_KEY.
    ///
    /// Rotation: set SECRET_TOKEN_ENC_KEY="NEW,OLD" on every server, run this, then drop OLD.
    /// Safe to interrupt and re-run, and to run while servers are serving.
    RotateKey {
        /// Rows per batch.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch_size: i64,
        /// Stop after this many rows (re-run to continue).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Tell which configured key of SECRET_TOKEN_ENC_KEY opens the stored data.
    CheckKey,
    /// Run retention now (the server does it at start and every hour); --dry-run lists.
    ///
    /// Deletes access tokens a day after they expired, expired connect states, audit events older
    /// than TOKENVAULT_EVENTS_RETENTION_DAYS (90), webhook messages delivered a week ago, and
    /// credentials left invalid for --invalid-days (default TOKENVAULT_REAP_INVALID_DAYS; unset:
    /// invalid credentials are kept).
    Reap {
        /// Only list the invalid credentials that would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Delete credentials that have been invalid for this many days.
        #[arg(long)]
        invalid_days: Option<u64>,
    },
    /// Print a user's usable credential (access token, API key or JWT) alone on stdout.
    ///
    /// `TOKEN=$(tokenvault get google --user u1)`. An OAuth2 token near expiry is refreshed
    /// first. Exit codes: 3 re-authorize, 4 retry later, 5 not found, 6 unauthorized.
    Get(cli::commands::GetArgs),
    /// Print a user's credentials as environment variables named by each provider's env_var.
    ///
    /// `eval "$(tokenvault export --user u1)"`. Values are quoted so any token stays literal.
    Export(cli::commands::ExportArgs),
    /// Run a command with a user's credentials in its environment: `run --user u1 -- CMD ARGS…`.
    ///
    /// The command replaces tokenvault: its exit code and signals are its own.
    Run(cli::commands::RunArgs),
    /// List a user's credentials (metadata, never secrets).
    Ls(cli::commands::UserArgs),
    /// List the providers the server knows (key, kinds, env_var, name, docs), or check a
    /// providers file offline (`providers check FILE`).
    Providers(cli::commands::ProvidersArgs),
    /// Refresh a user's OAuth2 credential at its provider now.
    Refresh(cli::commands::RefreshArgs),
    /// Print a credential's audit events, newest first, one line each.
    Log(cli::commands::LogArgs),
    /// Call a provider's API with a user's credential, through the server: the body to stdout.
    ///
    /// The credential never reaches this process (a `tokens:proxy` key suffices). Exit 0 on a
    /// 2xx answer, 13/14/15 on 3xx/4xx/5xx.
    Proxy(cli::proxy::ProxyArgs),
    /// Start connecting a user's account: print the provider's authorization URL.
    ///
    /// Send the user's browser there (`--open` opens it here); after consent the credential is
    /// stored and the browser lands on --redirect-uri.
    Connect(cli::commands::ConnectArgs),
    /// Exit 0 when the running server's /readyz answers 200 (for container health checks).
    ///
    /// The server is --url, else TOKENVAULT_URL, else the address of TOKENVAULT_BIND
    /// (0.0.0.0 and [::] are asked on loopback).
    Healthcheck {
        #[arg(long)]
        url: Option<String>,
    },
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    // Before parsing: flags read TOKENVAULT_URL and TOKENVAULT_API_KEY from .env too.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Get(args) => return client(cli::commands::get(args)),
        Command::Export(args) => return client(cli::commands::export(args)),
        Command::Ls(args) => return client(cli::commands::ls(args)),
        Command::Providers(cli::commands::ProvidersArgs {
            command: Some(command),
            ..
        }) => return client(cli::catalogue::run(command)),
        Command::Providers(args) => return client(cli::commands::providers(args.list)),
        Command::Refresh(args) => return client(cli::commands::refresh(args)),
        Command::Log(args) => return client(cli::commands::log(args)),
        Command::Connect(args) => return client(cli::commands::connect(args)),
        Command::Proxy(args) => return client(cli::proxy::proxy(args)),
        Command::Run(args) => return run_command(args),
        Command::Serve => admin::serve(),
        Command::Migrate => admin::migrate(),
        Command::GenKey => {
            println!("{}", tokenvault::crypto::generate_key());
            Ok(())
        }
        Command::Keys(command) => admin::keys(command),
        Command::RotateKey { batch_size, limit } => admin::rotate_key(batch_size, limit),
        Command::Openapi { output } => admin::write_openapi(output),
        Command::CheckKey => admin::check_key(),
        Command::Reap {
            dry_run,
            invalid_days,
        } => admin::reap(dry_run, invalid_days),
        Command::Healthcheck { url } => admin::healthcheck(url),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("tokenvault: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a client command: exit 0, or its exit code with its one-line message.
fn client(work: impl std::future::Future<Output = Result<(), cli::CliError>>) -> ExitCode {
    match actix_web::rt::System::new().block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => client_failed(error),
    }
}

fn client_failed(error: cli::CliError) -> ExitCode {
    eprintln!("tokenvault: {}", error.message);
    ExitCode::from(error.code)
}

/// `run`: fetch the variables, then become the command (returns only if that fails).
fn run_command(args: cli::commands::RunArgs) -> ExitCode {
    let variables = actix_web::rt::System::new().block_on(cli::commands::run_environment(&args));
    match variables {
        Ok(variables) => client_failed(cli::commands::exec(&args.command, variables)),
        Err(error) => client_failed(error),
    }
}
