//! `tokenvault proxy INTEGRATION METHOD PATH --user U`: call a provider's API through the
//! server with a stored credential; the answer's body goes to stdout as it arrives.

use std::io::Write;

use super::client::{Client, failure_of, segment};
use super::{CliError, Connection, exit};
use crate::providers::api::is_token;

#[derive(clap::Args, Clone)]
#[command(
    after_help = "Exit codes: 0 the API answered 2xx; 13, 14, 15 it answered 3xx, 4xx, \
5xx (its body is still printed); tokenvault's own errors as for the other commands: 3 \
re-authorize, 4 retry later, 5 not found, 6 unauthorized, 2 bad arguments, 1 anything else \
(a path the server refuses included).

Example: tokenvault proxy github GET /user/repos?per_page=5 --user u1"
)]
pub struct ProxyArgs {
    /// The integration key of the credential (e.g. github).
    pub integration: String,
    /// The HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
    pub method: String,
    /// The path under the provider's API base URL, query string included (`/user/repos?x=1`).
    pub path: String,
    /// Your application's id for the user.
    #[arg(long)]
    pub user: String,
    /// The request body: text, `@FILE`, or `@-` for standard input.
    #[arg(short = 'd', long = "data")]
    pub data: Option<String>,
    /// A header to send, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Retry 429 and 503 answers up to this many times, honouring Retry-After (0 to 3).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub retries: u8,
    #[command(flatten)]
    pub connection: Connection,
}

/// The exit code of an API's answer with `status` (not 2xx): 10 + its class.
fn exit_of(status: u16) -> u8 {
    match status {
        300..400 => 13,
        400..500 => 14,
        _ => 15,
    }
}

pub async fn proxy(args: ProxyArgs) -> Result<(), CliError> {
    let client = Client::new(&args.connection)?;
    let usage = |why: String| CliError::new(exit::USAGE, why);
    let method = args.method.trim().to_ascii_uppercase();
    let allowed = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    if !allowed.contains(&method.as_str()) {
        return Err(usage(format!(
            "unknown method {:?}; use one of {}",
            args.method,
            allowed.join(", ")
        )));
    }
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| usage(format!("unknown method {:?}", args.method)))?;
    let mut headers = args
        .headers
        .iter()
        .map(|h| header(h).ok_or_else(|| usage(format!("-H {h:?} must be 'Name: value'"))))
        .collect::<Result<Vec<_>, _>>()?;
    if args.retries > 0 {
        headers.push(("X-Tokenvault-Retries".into(), args.retries.to_string()));
    }
    let route = args.path.split(['?', '#']).next().unwrap_or_default();
    if route.split('/').any(|s| s == "." || s == "..") {
        return Err(usage(format!(
            "the path {:?} has . or .. segments; the proxy stays under the provider's API",
            args.path
        )));
    }
    let body = args.data.as_deref().map(read_data).transpose()?;
    let path = format!(
        "/v2/users/{}/proxy/{}/{}",
        segment(&args.user),
        segment(&args.integration),
        args.path.strip_prefix('/').unwrap_or(&args.path)
    );
    let reply = client.raw((method, &path), &headers, body).await?;
    let status = reply.status().as_u16();
    let ours = reply
        .headers()
        .get("x-tokenvault-error")
        .is_some_and(|v| v == "true");
    if ours {
        return Err(failure_of(reply).await.into_cli(client.url()));
    }
    print_body(reply).await?;
    match status {
        200..300 => Ok(()),
        _ => Err(CliError::new(
            exit_of(status),
            format!("the {} API answered {status}", args.integration),
        )),
    }
}

/// `Name: value`, trimmed.
fn header(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once(':')?;
    let name = name.trim();
    is_token(name).then(|| (name.to_string(), value.trim().to_string()))
}

/// `-d`: text, `@FILE` or `@-`.
fn read_data(data: &str) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    match data.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin().read_to_end(&mut body).map_err(|e| {
                CliError::new(exit::OTHER, format!("cannot read standard input: {e}"))
            })?;
            Ok(body)
        }
        Some(file) => std::fs::read(file)
            .map_err(|e| CliError::new(exit::USAGE, format!("cannot read {file}: {e}"))),
        None => Ok(data.as_bytes().to_vec()),
    }
}

/// The answer's body to stdout, chunk by chunk.
async fn print_body(mut reply: reqwest::Response) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    let broken = |e: String| CliError::new(exit::RETRY_LATER, format!("the answer broke off: {e}"));
    while let Some(chunk) = reply.chunk().await.map_err(|e| broken(e.to_string()))? {
        stdout
            .write_all(&chunk)
            .map_err(|e| CliError::new(exit::OTHER, format!("cannot write the answer: {e}")))?;
    }
    stdout
        .flush()
        .map_err(|e| CliError::new(exit::OTHER, format!("cannot write the answer: {e}")))
}
