//! Per-account values of a credential (`connection_config`): a Zendesk subdomain, a Shopify
//! shop, a Salesforce instance URL. The registry declares each field with a pattern; a value
//! that fails it never reaches a URL, so nothing a caller or a provider supplies can steer a
//! request to another host. Values are interpolated as `{name}` into the entry's URLs.

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use super::Provider;

/// Placeholders the registry fills itself, never from a connection config.
pub const RESERVED: &[&str] = &["client_id", "tenant", "installation_id"];

/// Connection-config values by field name, as stored with a credential (a JSON object).
pub type ConnectionConfig = BTreeMap<String, String>;

/// Why a connection config cannot be used with a provider (a 422 for the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("connection_config has no field {field:?} for provider {provider} (it has: {known})")]
    Unknown {
        provider: String,
        field: String,
        known: String,
    },
    #[error(
        "connection_config.{field} does not match the pattern {pattern} of provider {provider}"
    )]
    Pattern {
        provider: String,
        field: String,
        pattern: String,
    },
    #[error("provider {provider} needs connection_config.{field}")]
    Missing { provider: String, field: String },
}

/// A declared field's compiled pattern.
#[derive(Debug, Clone)]
pub struct FieldPattern {
    pub source: String,
    pub regex: Regex,
}

/// Compiles `connection_config` patterns; each must be anchored (`^…$`).
pub fn compile(
    fields: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, FieldPattern>, String> {
    fields
        .iter()
        .map(|(name, source)| {
            if RESERVED.contains(&name.as_str()) {
                return Err(format!(
                    "connection_config field {name:?} is a reserved placeholder"
                ));
            }
            if !source.starts_with('^') || !source.ends_with('$') {
                return Err(format!(
                    "connection_config.{name}: pattern {source:?} must be anchored (^…$)"
                ));
            }
            // Anchored as a whole: `^a|b$` alone would match "xb" (`(^a)|(b$)`).
            let regex = Regex::new(&format!("^(?:{source})$"))
                .map_err(|e| format!("connection_config.{name}: bad pattern: {e}"))?;
            Ok((
                name.clone(),
                FieldPattern {
                    source: source.clone(),
                    regex,
                },
            ))
        })
        .collect()
}

/// The `{name}` placeholders of a URL template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

/// Whether `value` may stand where `{name}` stands in `template`, whatever its pattern allowed:
/// at the start, an http(s) URL without userinfo, query or fragment (Salesforce's
/// `instance_url`: its host is the one the pattern allowed); anywhere else, text with nothing
/// that ends a host or a path segment or starts another placeholder.
fn fits(template: &str, name: &str, value: &str) -> bool {
    if template.starts_with(&format!("{{{name}}}")) {
        return url::Url::parse(value).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.username().is_empty()
                && url.password().is_none()
                && url.query().is_none()
                && url.fragment().is_none()
                && !value.ends_with('/')
        });
    }
    !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/?#@:\\{}%[]".contains(c))
}

/// `template` with each declared `{name}` replaced by its value (each filled once, from the
/// template, never from a value); reserved placeholders stay. A missing or unfit value: the
/// field's name.
fn fill(template: &str, config: &ConnectionConfig) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        out.push_str(&rest[..open]);
        match RESERVED.contains(&name) {
            true => out.push_str(&rest[open..open + close + 2]),
            false => {
                let value = config.get(name).ok_or_else(|| name.to_string())?;
                if !fits(template, name, value) {
                    return Err(name.to_string());
                }
                out.push_str(value);
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Provider {
    /// Whether any of this entry's URLs depend on a connection config.
    pub fn has_connection_config(&self) -> bool {
        !self.connection_config.is_empty()
    }

    /// The URL fields a request goes to, by name (the revocation URL as `revoke.url`).
    pub fn url_fields(&self) -> Vec<(&'static str, &str)> {
        let mut urls: Vec<(&'static str, &str)> = [
            ("token_url", &self.token_url),
            ("authorize_url", &self.authorize_url),
            ("userinfo_url", &self.userinfo_url),
            ("installation_token_url", &self.installation_token_url),
            ("client_credentials_url", &self.client_credentials_url),
            ("device_authorization_url", &self.device_authorization_url),
            ("device_token_url", &self.device_token_url),
            ("api_base_url", &self.api_base_url),
        ]
        .into_iter()
        .filter_map(|(name, url)| Some((name, url.as_deref()?)))
        .collect();
        if let Some(revoke) = &self.revoke {
            urls.push(("revoke.url", &revoke.url));
        }
        urls
    }

    /// Fields the provider's own endpoints (connect, refresh, revoke) need from the caller:
    /// used in those URLs and not filled from the provider's reply.
    pub fn required_config(&self) -> Vec<String> {
        let mut needed: Vec<String> = self
            .url_fields()
            .into_iter()
            .filter(|(name, _)| *name != "api_base_url")
            .flat_map(|(_, url)| placeholders(url))
            .filter(|name| self.connection_config.contains_key(*name))
            .filter(|name| !self.token_reply_metadata.contains_key(*name))
            .map(str::to_string)
            .collect();
        needed.sort();
        needed.dedup();
        needed
    }

    /// Checks one value against its declared pattern.
    pub fn check_config_value(&self, field: &str, value: &str) -> Result<(), ConfigError> {
        let Some(pattern) = self.config_patterns.get(field) else {
            let known: Vec<&str> = self.connection_config.keys().map(String::as_str).collect();
            return Err(ConfigError::Unknown {
                provider: self.key.clone(),
                field: field.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        };
        if pattern.regex.is_match(value) {
            Ok(())
        } else {
            Err(ConfigError::Pattern {
                provider: self.key.clone(),
                field: field.to_string(),
                pattern: pattern.source.clone(),
            })
        }
    }

    /// Checks a caller's connection config: every field declared and matching its pattern,
    /// every required one present.
    pub fn check_config(&self, config: &ConnectionConfig) -> Result<(), ConfigError> {
        for (field, value) in config {
            self.check_config_value(field, value)?;
        }
        match self
            .required_config()
            .into_iter()
            .find(|f| !config.contains_key(f))
        {
            Some(field) => Err(ConfigError::Missing {
                provider: self.key.clone(),
                field,
            }),
            None => Ok(()),
        }
    }

    /// The values `token_reply_metadata` names, read from a code-exchange `reply` and the
    /// callback's query parameters; each must match its pattern.
    pub fn reply_metadata(
        &self,
        reply: &Value,
        callback: &BTreeMap<String, String>,
    ) -> Result<ConnectionConfig, ConfigError> {
        let mut found = ConnectionConfig::new();
        for (field, path) in &self.token_reply_metadata {
            let value = match path.strip_prefix("callback.") {
                Some(param) => callback.get(param).cloned(),
                None => super::client::lookup(reply, path).and_then(scalar_text),
            };
            let Some(value) = value else { continue };
            self.check_config_value(field, &value)?;
            found.insert(field.clone(), value);
        }
        Ok(found)
    }

    /// This entry with `config` interpolated into its URLs; borrowed when it declares no fields.
    /// A URL naming a field `config` lacks is dropped, so whatever needs it reports "not
    /// configured" instead of calling a half-filled URL.
    pub fn resolved(&self, config: &ConnectionConfig) -> Cow<'_, Provider> {
        if !self.has_connection_config() {
            return Cow::Borrowed(self);
        }
        let mut entry = self.clone();
        for slot in [
            &mut entry.token_url,
            &mut entry.authorize_url,
            &mut entry.userinfo_url,
            &mut entry.installation_token_url,
            &mut entry.client_credentials_url,
            &mut entry.device_authorization_url,
            &mut entry.device_token_url,
            &mut entry.api_base_url,
        ] {
            *slot = slot.take().and_then(|url| fill(&url, config).ok());
        }
        if let Some(revoke) = entry.revoke.take() {
            entry.revoke = fill(&revoke.url, config)
                .ok()
                .map(|url| super::RevokeSpec { url, ..revoke });
        }
        Cow::Owned(entry)
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a stored connection config column; an absent or unreadable one is empty.
pub fn from_column(column: Option<&str>) -> ConnectionConfig {
    column
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// The column text of a connection config; `None` when it is empty.
pub fn to_column(config: &ConnectionConfig) -> Option<String> {
    (!config.is_empty()).then(|| serde_json::to_string(config).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_order() {
        assert_eq!(
            placeholders("https://{sub}.zendesk.com/{a}/x/{client_id}"),
            ["sub", "a", "client_id"]
        );
        assert!(placeholders("https://x/{unclosed").is_empty());
    }

    #[test]
    fn values_fill_once_and_never_leave_their_place() {
        let config = |pairs: &[(&str, &str)]| -> ConnectionConfig {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let host = "https://{sub}.example.com/{client_id}/x";
        assert_eq!(
            fill(host, &config(&[("sub", "acme")])).as_deref(),
            Ok("https://acme.example.com/{client_id}/x")
        );
        for hostile in [
            "evil.com/",
            "a@b",
            "a:1",
            "a?b",
            "{other}",
            "a%2f",
            "a b",
            "",
        ] {
            let filled = fill(host, &config(&[("sub", hostile), ("other", "x")]));
            assert!(filled.is_err(), "{hostile}: {filled:?}");
        }
        let origin = "{base}/services/data";
        assert_eq!(
            fill(
                origin,
                &config(&[("base", "https://acme.my.salesforce.com")])
            )
            .as_deref(),
            Ok("https://acme.my.salesforce.com/services/data")
        );
        for hostile in [
            "https://u@a.com",
            "ftp://a.com",
            "https://a.com?x",
            "https://a.com#x",
            "a.com",
        ] {
            assert!(
                fill(origin, &config(&[("base", hostile)])).is_err(),
                "{hostile}"
            );
        }
    }

    #[test]
    fn patterns_must_be_anchored_and_not_reserved() {
        let fields = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(compile(&fields("sub", "^[a-z]+$")).is_ok());
        assert!(compile(&fields("sub", "[a-z]+")).is_err());
        assert!(compile(&fields("tenant", "^[a-z]+$")).is_err());
        assert!(compile(&fields("sub", "^[a-z+$")).is_err());
        let alternation = compile(&fields("sub", "^a|b$")).unwrap();
        assert!(
            !alternation["sub"].regex.is_match("xb") && !alternation["sub"].regex.is_match("ax")
        );
    }
}
