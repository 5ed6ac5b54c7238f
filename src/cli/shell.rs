//! Turning credentials into environment variables: names from the registry's `env_var`, values
//! quoted so that any token — with `'`, `$`, backquotes or newlines — stays one literal value.

use std::collections::BTreeMap;

/// The output formats of `export`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `export NAME='value'` lines for `eval` or `source`.
    Sh,
    /// `NAME='value'` lines for a .env file.
    Dotenv,
    /// One JSON object of names and values.
    Json,
}

/// A credential to export: its integration key, its provider and the provider's `env_var`.
pub struct Named<'a> {
    pub integration_key: &'a str,
    pub provider: &'a str,
    pub env_var: Option<&'a str>,
}

/// The variable name of each credential: the provider's `env_var` when it has one and no other
/// exported credential shares the provider, else the integration key upper-cased (characters
/// other than letters and digits become `_`). Two credentials may not end up with one name.
pub fn variable_names(credentials: &[Named<'_>]) -> Result<Vec<String>, String> {
    let mut per_provider: BTreeMap<&str, usize> = BTreeMap::new();
    for credential in credentials {
        *per_provider.entry(credential.provider).or_default() += 1;
    }
    let mut names = Vec::with_capacity(credentials.len());
    let mut taken: BTreeMap<String, &str> = BTreeMap::new();
    for credential in credentials {
        let name = match credential.env_var.filter(|v| !v.is_empty()) {
            Some(env_var) if per_provider[credential.provider] == 1 => env_var.to_string(),
            _ => identifier(credential.integration_key),
        };
        if let Some(other) = taken.insert(name.clone(), credential.integration_key) {
            return Err(format!(
                "{other} and {} would both be exported as {name}; pick one with --only",
                credential.integration_key
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// An integration key as a shell variable name.
fn identifier(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect();
    if name.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// A value in single quotes for a POSIX shell: nothing inside is special, and a `'` is closed,
/// escaped and reopened.
pub fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A value for a .env file: single quotes (literal) when it has no `'` or newline, else double
/// quotes with `\`, `"`, `$` and newlines escaped.
pub fn dotenv_quote(value: &str) -> String {
    if !value.contains(['\'', '\n', '\r']) {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The whole `export` output in `format`.
pub fn render(format: Format, variables: &[(String, String)]) -> String {
    match format {
        Format::Sh => variables
            .iter()
            .map(|(name, value)| format!("export {name}={}\n", sh_quote(value)))
            .collect(),
        Format::Dotenv => variables
            .iter()
            .map(|(name, value)| format!("{name}={}\n", dotenv_quote(value)))
            .collect(),
        Format::Json => {
            let object: serde_json::Map<String, serde_json::Value> = variables
                .iter()
                .map(|(name, value)| (name.clone(), value.clone().into()))
                .collect();
            let mut text = serde_json::to_string_pretty(&object).unwrap_or_default();
            text.push('\n');
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named<'a>(key: &'a str, provider: &'a str, env_var: Option<&'a str>) -> Named<'a> {
        Named {
            integration_key: key,
            provider,
            env_var,
        }
    }

    #[test]
    fn names_come_from_the_registry_unless_a_provider_is_shared() {
        let names = variable_names(&[
            named("google", "google", Some("GOG_ACCESS_TOKEN")),
            named("openai", "openai", Some("OPENAI_API_KEY")),
            named("gh-work", "github", Some("GH_TOKEN")),
            named("gh.home", "github", Some("GH_TOKEN")),
            named("9lives", "acme", None),
        ])
        .unwrap();
        assert_eq!(
            names,
            [
                "GOG_ACCESS_TOKEN",
                "OPENAI_API_KEY",
                "GH_WORK",
                "GH_HOME",
                "_9LIVES"
            ]
        );
        let clash = variable_names(&[named("a-b", "x", None), named("a.b", "y", None)]);
        assert!(clash.unwrap_err().contains("A_B"));
    }

    #[test]
    fn quoting_keeps_hostile_values_literal() {
        assert_eq!(sh_quote("it's $HOME"), r#"'it'\''s $HOME'"#);
        assert_eq!(dotenv_quote("plain$x"), "'plain$x'");
        assert_eq!(dotenv_quote("a'b\n$c"), r#""a'b\n\$c""#);
    }
}
