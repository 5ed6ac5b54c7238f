//! `tokenvault providers check FILE`: a `PROVIDERS_FILE` checked offline, before a deployment
//! runs with it, by the same rules `serve` applies at start.

use std::path::Path;

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
