//! `DATABASE_URL`: which backend, chosen from the URL scheme.

use std::path::PathBuf;

/// Where the data lives. Chosen from the URL scheme, never by trial and error, so a mistyped
/// `postgres://` URL is an error rather than a stray SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub const DEFAULT: &'static str = "sqlite://./data/tokenvault.db";

    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(
                    "DATABASE_URL sqlite:// needs a file path, e.g. sqlite://./data/tokenvault.db"
                        .into(),
                );
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
        Err(format!(
            "DATABASE_URL has an unsupported scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB"
        ))
    }

    /// A description safe to log: the PostgreSQL password, if any, is masked.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_is_chosen_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/x.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("./data/x.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/tv.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("/var/lib/tv.db")))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("postgress://u@h/db").is_err());
        assert!(DatabaseUrl::parse("./file.db").is_err());
    }

    #[test]
    fn redacted_url_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/tv").unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/tv");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
