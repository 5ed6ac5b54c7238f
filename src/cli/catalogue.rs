//! `tokenvault providers check FILE`: a `PROVIDERS_FILE` checked offline, before a deployment
//! runs with it, by the same rules `serve` applies at start; `providers add|rm`: a tenant's own
//! providers, through the server.

use std::path::Path;

use serde_json::{Map, Value};

use super::Connection;
use super::client::{Client, segment};
use super::commands::{ProviderAddArgs, ProvidersCommand};
use super::{CliError, exit};
use crate::providers::Registry;

/// Prints one line per problem of `file` (merged over the embedded catalogue, as `serve`
/// would) and fails with exit 2 when there is any; else one line saying how many entries.
pub fn check(file: &Path) -> Result<(), CliError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::new(exit::OTHER, format!("cannot read {shown}: {e}")))?;
    let problems = Registry::problems_of(&text, &shown);
    if problems.is_empty() {
        let registry =
            Registry::with_overrides(&text, &shown).map_err(|e| CliError::new(exit::USAGE, e))?;
        println!(
            "{shown}: ok ({} providers with the embedded catalogue)",
            registry.iter().count()
        );
        return Ok(());
    }
    for problem in &problems {
        println!("{shown}: {problem}");
    }
    Err(CliError::new(
        exit::USAGE,
        format!(
            "{shown}: {} problem(s); serve would refuse it",
            problems.len()
        ),
    ))
}

/// `providers check|add|rm`.
pub async fn run(command: ProvidersCommand) -> Result<(), CliError> {
    match command {
        ProvidersCommand::Check { file } => check(&file),
        ProvidersCommand::Add(args) => add(args).await,
        ProvidersCommand::Rm {
            key,
            force,
            connection,
        } => rm(&key, force, &connection).await,
    }
}

/// The fields of an entry file: a JSON object, or TOML (bare fields, or one `[KEY]` table).
fn entry_fields(file: &Path, key: &str) -> Result<Map<String, Value>, CliError> {
    let shown = file.display().to_string();
    let text = match shown.as_str() {
        "-" => std::io::read_to_string(std::io::stdin())
            .map_err(|e| CliError::new(exit::OTHER, format!("cannot read stdin: {e}")))?,
        _ => std::fs::read_to_string(file)
            .map_err(|e| CliError::new(exit::OTHER, format!("cannot read {shown}: {e}")))?,
    };
    let bad = |e: String| CliError::new(exit::USAGE, format!("{shown}: {e}"));
    let value: Value = match shown.ends_with(".toml") {
        true => {
            let table: toml::Table = text.parse().map_err(|e| bad(format!("not TOML: {e}")))?;
            let table = match table.get(key) {
                Some(toml::Value::Table(inner)) if table.len() == 1 => inner.clone(),
                _ => table,
            };
            serde_json::to_value(table).map_err(|e| bad(e.to_string()))?
        }
        false => serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?,
    };
    match value {
        Value::Object(fields) => Ok(fields),
        _ => Err(bad("must hold an object of the entry's fields".into())),
    }
}

async fn add(args: ProviderAddArgs) -> Result<(), CliError> {
    let mut body = match &args.file {
        Some(file) => entry_fields(file, &args.key)?,
        None => Map::new(),
    };
    body.insert("key".into(), Value::String(args.key.clone()));
    if let Some(client_id) = &args.client_id {
        let mut client = serde_json::json!({"client_id": client_id});
        if let Ok(secret) = std::env::var("TOKENVAULT_PROVIDER_CLIENT_SECRET") {
            client["client_secret"] = Value::String(secret);
        }
        body.insert("client".into(), client);
    }
    let client = Client::new(&args.connection)?;
    let added = client
        .post_json("/v2/providers", Some(Value::Object(body)))
        .await?
        .map_err(|f| f.into_cli(client.url()))?;
    println!(
        "added {} ({}) for this tenant; connect: {}",
        args.key,
        added["display_name"].as_str().unwrap_or_default(),
        added["supports_connect"]
    );
    Ok(())
}

async fn rm(key: &str, force: bool, connection: &Connection) -> Result<(), CliError> {
    let client = Client::new(connection)?;
    let path = format!("/v2/providers/{}?force={force}", segment(key));
    client
        .call_json(reqwest::Method::DELETE, &path, None)
        .await?
        .map_err(|f| f.into_cli(client.url()))?;
    println!("deleted provider {key}");
    Ok(())
}
