//! The client commands. Each reads its arguments, makes its calls and prints; failures come back
//! as a `CliError` whose message says what to do.

use std::time::Duration;

use serde_json::Value;

use super::client::{Client, Failure, segment};
use super::shell::{self, Format, Named};
use super::{CliError, Connection, exit};
use crate::providers::client::lookup;

/// `tokenvault get INTEGRATION --user U`
#[derive(clap::Args, Clone)]
pub struct GetArgs {
    /// The integration key the credential is stored under (e.g. google).
    pub integration: String,
    /// Your application's id for the user.
    #[arg(long)]
    pub user: String,
    /// Print this field instead of the usable secret: a field of the response (expires_at,
    /// status, scopes, account.email …) or of its token_data (refresh_token, token_type …).
    #[arg(long, conflicts_with = "json")]
    pub field: Option<String>,
    /// Print the whole response as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// `tokenvault export --user U` and the selection `run` shares.
#[derive(clap::Args, Clone)]
pub struct Selection {
    /// Your application's id for the user.
    #[arg(long)]
    pub user: String,
    /// Only these integration keys (comma-separated); default: every credential of the user.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(clap::Args, Clone)]
pub struct ExportArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Sh)]
    pub format: Format,
}

#[derive(clap::Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// The command and its arguments, after `--`.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(clap::Args, Clone)]
pub struct UserArgs {
    /// Your application's id for the user.
    #[arg(long)]
    pub user: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// `providers`: list them (the server's), or check a providers file offline.
#[derive(clap::Args, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProvidersArgs {
    #[command(subcommand)]
    pub command: Option<ProvidersCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(clap::Subcommand, Clone)]
pub enum ProvidersCommand {
    /// Check a PROVIDERS_FILE offline, merged over the embedded catalogue as `serve` would:
    /// unknown fields, bad URLs, templates naming undeclared connection_config fields, bad
    /// patterns, missing docs_url. One line per problem; exit 2 when there is any.
    Check {
        /// The providers file (TOML, the format of the embedded providers.toml).
        file: std::path::PathBuf,
    },
    /// Add a provider for this API key's tenant (admin key), or the tenant's own OAuth app for
    /// a catalogue provider. The entry's fields come from --file (JSON, or TOML in the
    /// catalogue's format); the client secret only from TOKENVAULT_PROVIDER_CLIENT_SECRET.
    Add(ProviderAddArgs),
    /// Delete one of this tenant's providers (admin key); --force even while credentials use it.
    Rm {
        /// The provider key.
        key: String,
        /// Delete it although credentials use it (they can no longer be refreshed).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        connection: Connection,
    },
}

#[derive(clap::Args, Clone)]
pub struct ProviderAddArgs {
    /// The provider key (lowercase letters, digits, '-', '_').
    pub key: String,
    /// The entry's fields: a JSON object, or a TOML file (a [KEY] table or bare fields); `-`
    /// reads JSON from stdin. Without it, only --client-id (a catalogue provider's own app).
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
    /// The tenant's own OAuth client id; its secret is read from
    /// TOKENVAULT_PROVIDER_CLIENT_SECRET (never an argument: it would show in `ps`).
    #[arg(long)]
    pub client_id: Option<String>,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(clap::Args, Clone)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(clap::Args, Clone)]
pub struct RefreshArgs {
    /// The integration key of the credential.
    pub integration: String,
    /// Your application's id for the user.
    #[arg(long)]
    pub user: String,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(clap::Args, Clone)]
pub struct LogArgs {
    /// The integration key of the credential.
    pub integration: String,
    /// Your application's id for the user.
    #[arg(long)]
    pub user: String,
    /// How many events, newest first.
    #[arg(short = 'n', long = "lines", default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=500))]
    pub lines: i64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(clap::Args, Clone)]
pub struct ConnectArgs {
    /// The provider (see `tokenvault providers`: supports_connect).
    pub provider: String,
    /// Your application's id for the user.
    #[arg(long)]
    pub user: String,
    /// Where the user's browser lands afterwards (must be allowed by the server's
    /// TOKENVAULT_REDIRECT_ALLOWLIST). Required unless --device.
    #[arg(long, required_unless_present = "device", conflicts_with = "device")]
    pub redirect_uri: Option<String>,
    /// Device flow (RFC 8628), for a machine without a browser: prints a code and where to enter
    /// it, then waits until the user approves. Exits 0 connected, 3 denied or expired, 4 when
    /// tokenvault cannot be reached.
    #[arg(long)]
    pub device: bool,
    /// Store the credential under this integration key (default: the provider key).
    #[arg(long)]
    pub integration: Option<String>,
    /// Scopes to ask for, comma-separated (default: the provider's default scopes).
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Also open the URL in a browser, when one is available.
    #[arg(long)]
    pub open: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// The message for a failure about one credential, with the command that fixes it.
fn about_credential(failure: Failure, client: &Client, integration: &str, user: &str) -> CliError {
    match failure {
        Failure::Status { status: 404, .. } => CliError::new(
            exit::NOT_FOUND,
            format!(
                "no credential {integration} for user {user} (tokenvault ls --user {user} lists them)"
            ),
        ),
        Failure::Status { status: 410, .. } => CliError::new(
            exit::REAUTHORIZE,
            // `tokenvault connect` will name the command once the connect flow exists.
            format!(
                "re-authorize {integration} for {user}: the provider rejected its refresh token; send the user through the provider's consent again and store the new tokens (POST /v2/users/{user}/tokens)"
            ),
        ),
        other => other.into_cli(client.url()),
    }
}

/// Prints a response as pretty JSON.
fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// The path of a user's credential, with `suffix` (`""`, `"/refresh"`, `"/events"`).
fn credential_path(user: &str, integration: &str, suffix: &str) -> String {
    format!(
        "/v2/users/{}/tokens/{}{suffix}",
        segment(user),
        segment(integration)
    )
}

/// GET a credential.
async fn credential(client: &Client, user: &str, integration: &str) -> Result<Value, CliError> {
    let path = credential_path(user, integration, "");
    client
        .get(&path)
        .await?
        .map_err(|f| about_credential(f, client, integration, user))
}

/// The usable secret of a GET response: access token, API key, JWT or password.
fn usable_secret(response: &Value) -> Option<&str> {
    let data = &response["token_data"];
    ["access_token", "api_key", "token", "password"]
        .iter()
        .find_map(|field| data[*field].as_str())
}

/// A field of a GET response (dotted path), or of its `token_data`.
fn field<'a>(response: &'a Value, path: &str) -> Option<&'a Value> {
    lookup(response, path).or_else(|| lookup(&response["token_data"], path))
}

/// How a field prints: strings as they are, lists of strings comma-joined, null as nothing.
fn printable(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

pub async fn get(args: GetArgs) -> Result<(), CliError> {
    let client = Client::new(&args.connection)?;
    let response = credential(&client, &args.user, &args.integration).await?;
    if args.json {
        print_json(&response);
        return Ok(());
    }
    let text = match &args.field {
        Some(name) => printable(field(&response, name).ok_or_else(|| {
            CliError::new(
                exit::OTHER,
                format!("the response of {} has no field {name:?}", args.integration),
            )
        })?),
        None => usable_secret(&response)
            .ok_or_else(|| CliError::new(exit::OTHER, "the response holds no usable secret"))?
            .to_string(),
    };
    println!("{text}");
    Ok(())
}

/// The selected credentials of a user as (variable name, usable secret).
async fn variables(
    selection: &Selection,
    client: &Client,
) -> Result<Vec<(String, String)>, CliError> {
    let user = &selection.user;
    let providers = client
        .get("/v2/providers")
        .await?
        .map_err(|f| f.into_cli(client.url()))?;
    let listed = client
        .get(&format!("/v2/users/{}/tokens", segment(user)))
        .await?
        .map_err(|f| f.into_cli(client.url()))?;
    let listed = listed.as_array().cloned().unwrap_or_default();
    let key_of = |item: &Value| {
        item["integration_key"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for wanted in &selection.only {
        if !listed.iter().any(|item| &key_of(item) == wanted) {
            return Err(CliError::new(
                exit::NOT_FOUND,
                format!(
                    "no credential {wanted} for user {user} (tokenvault ls --user {user} lists them)"
                ),
            ));
        }
    }
    let chosen: Vec<&Value> = listed
        .iter()
        .filter(|item| selection.only.is_empty() || selection.only.contains(&key_of(item)))
        .collect();
    let entry_of = |provider: &str| {
        providers
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["provider"] == provider)
    };
    let env_var_of = |provider: &str| entry_of(provider).and_then(|p| p["env_var"].as_str());
    let named: Vec<Named<'_>> = chosen
        .iter()
        .map(|item| {
            let provider = item["provider"].as_str().unwrap_or_default();
            Named {
                integration_key: item["integration_key"].as_str().unwrap_or_default(),
                provider,
                env_var: env_var_of(provider),
            }
        })
        .collect();
    let names = shell::variable_names(&named).map_err(|why| CliError::new(exit::OTHER, why))?;
    let mut out = Vec::with_capacity(names.len());
    for (name, credential_of) in names.into_iter().zip(&named) {
        let response = credential(client, user, credential_of.integration_key).await?;
        let secret = usable_secret(&response).ok_or_else(|| {
            CliError::new(
                exit::OTHER,
                format!("{} holds no usable secret", credential_of.integration_key),
            )
        })?;
        out.push((name, secret.to_string()));
    }
    let account_vars: Vec<Option<&str>> = named
        .iter()
        .map(|n| entry_of(n.provider).and_then(|p| p["account_env_var"].as_str()))
        .collect();
    add_accounts(&mut out, &chosen, &named, &account_vars);
    Ok(out)
}

/// Adds each provider's `account_env_var` (`GOG_ACCOUNT`) where the account is known, only
/// beside the provider's own variable (one credential of that provider) and never over a name
/// already taken.
fn add_accounts(
    out: &mut Vec<(String, String)>,
    chosen: &[&Value],
    named: &[Named<'_>],
    account_vars: &[Option<&str>],
) {
    for ((item, named), var) in chosen.iter().zip(named).zip(account_vars) {
        let (Some(var), Some(account)) = (var, account_text(&item["account"])) else {
            continue;
        };
        let own = out
            .iter()
            .any(|(name, _)| Some(name.as_str()) == named.env_var);
        if own && !out.iter().any(|(name, _)| name == var) {
            out.push((var.to_string(), account));
        }
    }
}

/// How an account is named for its `account_env_var`: the email, else the name, else the id.
fn account_text(account: &Value) -> Option<String> {
    ["email", "name", "id"]
        .iter()
        .find_map(|field| account[*field].as_str().filter(|s| !s.is_empty()))
        .map(str::to_string)
}

pub async fn export(args: ExportArgs) -> Result<(), CliError> {
    let client = Client::new(&args.selection.connection)?;
    let variables = variables(&args.selection, &client).await?;
    print!("{}", shell::render(args.format, &variables));
    Ok(())
}

/// The variables `run` adds to the command's environment.
pub async fn run_environment(args: &RunArgs) -> Result<Vec<(String, String)>, CliError> {
    let client = Client::new(&args.selection.connection)?;
    variables(&args.selection, &client).await
}

/// Replaces this process with the command: its exit code and signals are the command's own.
pub fn exec(command: &[String], variables: Vec<(String, String)>) -> CliError {
    use std::os::unix::process::CommandExt;
    let Some((program, arguments)) = command.split_first() else {
        return CliError::new(exit::USAGE, "run needs a command after --");
    };
    let error = std::process::Command::new(program)
        .args(arguments)
        .envs(variables)
        .exec();
    CliError::new(exit::OTHER, format!("cannot run {program}: {error}"))
}

pub async fn ls(args: UserArgs) -> Result<(), CliError> {
    let client = Client::new(&args.connection)?;
    let listed = client
        .get(&format!("/v2/users/{}/tokens", segment(&args.user)))
        .await?
        .map_err(|f| f.into_cli(client.url()))?;
    if args.json {
        print_json(&listed);
        return Ok(());
    }
    let items = listed.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        eprintln!("no credentials for user {}", args.user);
    }
    for item in items {
        let text = |name: &str| printable(&item[name]);
        let expires = match text("expires_at") {
            at if at.is_empty() => "no expiry".to_string(),
            at => format!("expires {at}"),
        };
        println!(
            "{}\t{}\t{}\t{}\t{expires}",
            text("integration_key"),
            text("provider"),
            text("token_type"),
            text("status")
        );
    }
    Ok(())
}

pub async fn providers(args: ListArgs) -> Result<(), CliError> {
    let client = Client::new(&args.connection)?;
    let listed = client
        .get("/v2/providers")
        .await?
        .map_err(|f| f.into_cli(client.url()))?;
    if args.json {
        print_json(&listed);
        return Ok(());
    }
    for item in listed.as_array().into_iter().flatten() {
        let text = |name: &str| printable(&item[name]);
        println!(
            "{}\t{}\t{}\t{}\t{}",
            text("provider"),
            text("token_types"),
            text("env_var"),
            text("display_name"),
            text("docs_url")
        );
    }
    Ok(())
}

pub async fn refresh(args: RefreshArgs) -> Result<(), CliError> {
    let client = Client::new(&args.connection)?;
    let path = credential_path(&args.user, &args.integration, "/refresh");
    let done = client
        .post(&path)
        .await?
        .map_err(|f| about_credential(f, &client, &args.integration, &args.user))?;
    println!(
        "refreshed {} for {} at {}",
        args.integration,
        args.user,
        printable(&done["refreshed_at"])
    );
    Ok(())
}

pub async fn log(args: LogArgs) -> Result<(), CliError> {
    let client = Client::new(&args.connection)?;
    let events = credential_path(&args.user, &args.integration, "/events");
    let path = format!("{events}?limit={}", args.lines);
    let events = client
        .get(&path)
        .await?
        .map_err(|f| about_credential(f, &client, &args.integration, &args.user))?;
    if args.json {
        print_json(&events);
        return Ok(());
    }
    for event in events.as_array().into_iter().flatten() {
        let text = |name: &str| printable(&event[name]);
        let reason = text("reason");
        let line = format!(
            "{}\t{}\t{}",
            text("created_at"),
            text("event"),
            text("outcome")
        );
        match reason.is_empty() {
            true => println!("{line}"),
            false => println!("{line}\t{}", reason.replace(['\n', '\t'], " ")),
        }
    }
    Ok(())
}

pub async fn connect(args: ConnectArgs) -> Result<(), CliError> {
    let client = Client::new(&args.connection)?;
    let mut body = serde_json::json!({"provider": args.provider});
    match &args.redirect_uri {
        Some(redirect_uri) => body["redirect_uri"] = redirect_uri.clone().into(),
        None => body["flow"] = "device".into(),
    }
    if let Some(integration) = &args.integration {
        body["integration_key"] = integration.clone().into();
    }
    if !args.scopes.is_empty() {
        body["scopes"] = args.scopes.clone().into();
    }
    let path = format!("/v2/users/{}/connect", segment(&args.user));
    let started = client
        .post_json(&path, Some(body))
        .await?
        .map_err(|f| f.into_cli(client.url()))?;
    if args.device {
        return device_connect(&client, &args, &started).await;
    }
    let url = printable(&started["authorization_url"]);
    println!("{url}");
    eprintln!(
        "send {} there to connect {} (valid until {})",
        args.user,
        args.provider,
        printable(&started["expires_at"])
    );
    if args.open {
        open_browser(&url);
    }
    Ok(())
}

/// The device flow after its start: shows the code, then asks tokenvault how the connect stands
/// every second (tokenvault polls the provider) until it has finished.
async fn device_connect(
    client: &Client,
    args: &ConnectArgs,
    started: &Value,
) -> Result<(), CliError> {
    let uri = printable(&started["verification_uri"]);
    let code = printable(&started["user_code"]);
    println!("{uri}\n{code}");
    eprintln!(
        "to connect {} for {}: open {uri} on any device and enter the code {code} (valid until {})",
        args.provider,
        args.user,
        printable(&started["expires_at"])
    );
    if args.open {
        open_browser(&uri);
    }
    let path = format!(
        "/v2/users/{}/connect/{}",
        segment(&args.user),
        segment(&printable(&started["connect_id"]))
    );
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("waiting for the user to approve");
    spinner.enable_steady_tick(Duration::from_millis(120));
    // tokenvault unreachable or unavailable for a moment does not end the wait; for half a
    // minute on end it does (exit 4).
    let mut unanswered = 0;
    let finished = loop {
        let answer = client.get(&path).await;
        let status = match answer {
            Ok(Ok(view)) => view,
            Ok(Err(failure)) if failure.is_transient() && unanswered < 30 => {
                unanswered += 1;
                spinner.set_message("tokenvault does not answer; still waiting");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Ok(Err(failure)) => {
                spinner.finish_and_clear();
                return Err(failure.into_cli(client.url()));
            }
            Err(e) => {
                spinner.finish_and_clear();
                return Err(e);
            }
        };
        unanswered = 0;
        spinner.set_message("waiting for the user to approve");
        if status["status"] != "pending" {
            break status;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    spinner.finish_and_clear();
    let integration = printable(&finished["integration_key"]);
    let error = printable(&finished["error"]);
    match finished["status"].as_str().unwrap_or_default() {
        "connected" => {
            eprintln!(
                "connected {} for {} (integration {integration})",
                args.provider, args.user
            );
            Ok(())
        }
        status @ ("denied" | "expired") => Err(CliError::new(
            exit::REAUTHORIZE,
            format!("the connect was {status} ({error}); start it again"),
        )),
        other => Err(CliError::new(
            exit::OTHER,
            format!("the connect {other}: {error}"),
        )),
    }
}

/// Opens `url` with the desktop's opener, if there is one; says so when there is none.
fn open_browser(url: &str) {
    let opened = ["xdg-open", "open"].iter().any(|opener| {
        std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    });
    if !opened {
        eprintln!("no browser opener (xdg-open, open) here: open the URL above yourself");
    }
}
