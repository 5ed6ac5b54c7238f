//! Checks of a registry entry before a server runs with it (and `tokenvault providers check`):
//! URLs absolute http(s) with only declared placeholders, patterns anchored and compilable,
//! a `docs_url` on every entry.

use super::config::{self, RESERVED};
use super::{Provider, api};
use crate::model::TokenType;

/// A sample value that makes a templated URL parse: a whole origin where the template starts
/// with a placeholder (Salesforce's `{instance_url}/…`), a host label elsewhere.
fn sample(template: &str) -> String {
    let mut out = template.to_string();
    for (i, name) in config::placeholders(template).into_iter().enumerate() {
        let value = match i == 0 && template.starts_with('{') {
            true => "https://placeholder.invalid",
            false => "placeholder",
        };
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

fn undeclared(field: &str, template: &str, declared: &dyn Fn(&str) -> bool) -> Vec<String> {
    config::placeholders(template)
        .into_iter()
        .filter(|name| !RESERVED.contains(name) && !declared(name))
        .map(|name| format!("{field} uses {{{name}}}, which connection_config does not declare"))
        .collect()
}

fn check_url(field: &str, template: &str, declared: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut problems = undeclared(field, template, declared);
    match url::Url::parse(&sample(template)) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => problems.push(format!(
            "{field} {template:?} is not an absolute http(s) URL"
        )),
    }
    problems
}

impl Provider {
    /// Compiles the entry's patterns and lists what is wrong with it (empty: usable).
    pub(super) fn prepare(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.token_types.is_empty() {
            problems.push("token_types must not be empty".to_string());
        }
        if let Some(missing) = self.missing_for_kinds() {
            problems.push(missing.to_string());
        }
        match config::compile(&self.connection_config) {
            Ok(patterns) => self.config_patterns = patterns,
            Err(e) => problems.push(e),
        }
        problems.extend(self.check_urls());
        if let Some(base) = &self.api_base_url {
            // Checked with its placeholders filled; kept as written.
            if let Err(e) = api::check_base_url(&sample(base)) {
                problems.push(e);
            } else if !base.contains('{') {
                self.api_base_url = api::check_base_url(base).ok();
            }
        }
        for field in self.token_reply_metadata.keys() {
            if !self.connection_config.contains_key(field) {
                problems.push(format!(
                    "token_reply_metadata.{field} is not declared in connection_config"
                ));
            }
        }
        problems.extend(self.check_key_pattern());
        if self.scopes_strict {
            let outside = self
                .default_scopes
                .iter()
                .filter(|s| !self.scopes.contains_key(*s));
            problems.extend(outside.map(|s| {
                format!("default scope {s:?} is not in [scopes], which scopes_strict requires")
            }));
        }
        problems
    }

    fn check_urls(&self) -> Vec<String> {
        let mut problems = match self.docs_url.as_deref() {
            None => vec!["docs_url is missing (where the entry's settings come from)".to_string()],
            Some(url) if url.contains('{') || !url.starts_with("https://") => {
                vec![format!("docs_url {url:?} must be a plain https URL")]
            }
            Some(url) => check_url("docs_url", url, &|_| false),
        };
        let declared = |name: &str| self.connection_config.contains_key(name);
        if let Some(issuer) = &self.issuer {
            // Compared as written with a callback's `iss`: no placeholders.
            problems.extend(check_url("issuer", issuer, &|_| false));
        }
        for (field, url) in self.url_fields() {
            // The API base's shape has a check of its own (`api::check_base_url`, in `prepare`).
            problems.extend(match field {
                "api_base_url" => undeclared(field, url, &declared),
                _ => check_url(field, url, &declared),
            });
        }
        problems
    }

    fn check_key_pattern(&mut self) -> Vec<String> {
        let Some(pattern) = &self.key_pattern else {
            return vec![];
        };
        if !self.supports(TokenType::ApiKey) {
            return vec!["key_pattern is for api_key providers".to_string()];
        }
        if !pattern.starts_with('^') {
            return vec![format!(
                "key_pattern {pattern:?} must start with ^ (a prefix)"
            )];
        }
        match regex::Regex::new(pattern) {
            Ok(regex) => {
                self.key_regex = Some(regex);
                match self.key_hint {
                    None => vec!["key_pattern needs a key_hint to show people".to_string()],
                    Some(_) => vec![],
                }
            }
            Err(e) => vec![format!("key_pattern: bad pattern: {e}")],
        }
    }

    /// Whether `key` can be one of this provider's API keys (its documented prefix).
    pub fn key_fits(&self, key: &str) -> bool {
        self.key_regex
            .as_ref()
            .is_none_or(|regex| regex.is_match(key))
    }

    /// Scopes outside the catalogue, when the entry is strict about them.
    pub fn scopes_outside<'s>(&self, asked: &'s [String]) -> Vec<&'s str> {
        if !self.scopes_strict {
            return vec![];
        }
        asked
            .iter()
            .filter(|s| !self.scopes.contains_key(*s))
            .map(String::as_str)
            .collect()
    }
}
