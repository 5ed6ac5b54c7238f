//! The app-facing client: the same binary talking to a running tokenvault over HTTP, for
//! scripts and agents — `get`, `export`, `run`, `ls`, `providers`, `refresh`, `log`, `proxy`.
//!
//! Exit codes say what to do next: 0 ok, 2 usage, 3 re-authorize (410), 4 retry later (503,
//! 429, timeout, server unreachable), 5 not found, 6 unauthorized or forbidden, 1 anything else.
//! The message on stderr is one line. Nothing secret is printed except what `get`, `export` and
//! `run` exist to hand over.

pub mod admin;
pub mod catalogue;
pub mod client;
pub mod commands;
pub mod proxy;
pub mod shell;

/// Why a client command failed: the exit code and one line for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

/// The exit codes.
pub mod exit {
    pub const OTHER: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REAUTHORIZE: u8 = 3;
    pub const RETRY_LATER: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const UNAUTHORIZED: u8 = 6;
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }
}

/// Where the server is and how to authenticate: flags, else the environment (and `.env`).
// No `Debug`: it holds the API key.
#[derive(clap::Args, Clone)]
pub struct Connection {
    /// The tokenvault server.
    #[arg(long, env = "TOKENVAULT_URL", default_value = crate::config::DEFAULT_URL)]
    pub url: String,
    /// An API key (agk_…) or an access token (agat_…).
    #[arg(long, env = "TOKENVAULT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Show each request (method, URL, status, time) on stderr; never a header or a secret.
    #[arg(long, short)]
    pub verbose: bool,
    /// Give up on a request after this many seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}
