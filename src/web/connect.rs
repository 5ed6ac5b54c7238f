//! The hosted connect page's templates: the providers a link offers, each with its form; the
//! device-flow code; the last page (a message, or the popup's hand-back to its opener).

use maud::{Markup, html};

use super::layout::{csrf_field, page};
use crate::providers::{ConfigFieldInfo, Provider, ProviderInfo};

/// How a provider is connected on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// The provider's consent screen (or the device flow, where that is its only way).
    OAuth,
    /// An API key, with the registry's hint.
    ApiKey { hint: Option<String> },
    /// A username and password.
    Basic,
}

/// One provider on the page.
#[derive(Debug)]
pub struct Card {
    pub info: ProviderInfo,
    pub method: Method,
}

impl Card {
    pub fn new(provider: &Provider, client: bool, method: Method) -> Card {
        let info = ProviderInfo::new(
            provider,
            client,
            crate::providers::tenant::Source::Catalogue,
        );
        Card { info, method }
    }

    /// The per-account fields the user types (those the provider fills are left out).
    fn fields(&self) -> impl Iterator<Item = &ConfigFieldInfo> {
        self.info
            .connection_config
            .iter()
            .filter(|f| !f.from_provider)
    }
}

/// The page of a live link.
pub fn page_of(action: &str, csrf: &str, cards: &[Card], notice: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Connect your accounts" }
        @if let Some(notice) = notice {
            p class="notice" role="alert" { (notice) }
        }
        @if cards.is_empty() {
            p { "There is nothing to connect through this link. Ask for a new one." }
        }
        ul class="cards" {
            @for card in cards {
                li { (card_of(action, csrf, card)) }
            }
        }
        p class="fine" { "Your credentials are encrypted by tokenvault; this page never shows them again." }
    };
    page("Connect", None, body, &[])
}

fn card_of(action: &str, csrf: &str, card: &Card) -> Markup {
    let info = &card.info;
    let id = |name: &str| format!("{}-{name}", info.provider);
    html! {
        section class="card" aria-labelledby=(id("title")) {
            h2 id=(id("title")) { (info.display_name) }
            p { (info.description) }
            @if card.method == Method::OAuth && !info.default_scopes.is_empty() {
                p class="fine" { "It will be allowed to:" }
                ul class="scopes" {
                    @for scope in &info.default_scopes {
                        li { (info.scope_labels.get(scope).unwrap_or(scope)) }
                    }
                }
            }
            form method="post" action=(action) {
                (csrf_field(csrf))
                input type="hidden" name="provider" value=(info.provider);
                @for field in card.fields() {
                    label for=(id(&field.name)) { (field.name) @if !field.required { " (optional)" } }
                    input id=(id(&field.name)) name={ "config." (field.name) } required[field.required] autocomplete="off";
                }
                @match &card.method {
                    Method::OAuth => {}
                    Method::ApiKey { hint } => {
                        label for=(id("api_key")) { "API key" }
                        input id=(id("api_key")) name="api_key" type="password" required autocomplete="off" aria-describedby=[hint.as_ref().map(|_| id("hint"))];
                        @if let Some(hint) = hint { p class="fine" id=(id("hint")) { (hint) } }
                    }
                    Method::Basic => {
                        label for=(id("username")) { "Username" }
                        input id=(id("username")) name="username" required autocomplete="username";
                        label for=(id("password")) { "Password" }
                        input id=(id("password")) name="password" type="password" required autocomplete="current-password";
                    }
                }
                button type="submit" { "Connect " (info.display_name) }
            }
        }
    }
}

/// The device flow's page: the code to enter and where; "Check" asks how it stands.
pub fn device_page(user_code: &str, verification_uri: &str, check: &str) -> Markup {
    let body = html! {
        h1 { "Enter this code" }
        p class="code" { (user_code) }
        @if verification_uri.starts_with("https://") || verification_uri.starts_with("http://") {
            p { "Open " a href=(verification_uri) rel="noopener noreferrer" target="_blank" { (verification_uri) } " on any device and enter the code." }
        } @else {
            p { "Open " (verification_uri) " on any device and enter the code." }
        }
        p { a class="button" href=(check) { "I have entered it" } }
    };
    page("Enter the code", None, body, &[])
}

/// The result of a popup connect: `done.js` posts it to the opener (only to `origins`) and
/// closes the window.
pub fn popup_done(message: &PopupMessage, origins: &[String]) -> Markup {
    let origins = serde_json::to_string(origins).unwrap_or_else(|_| "[]".into());
    let body = html! {
        div id="result" hidden data-type=(message.kind) data-provider=(message.provider)
            data-integration-key=(message.integration_key) data-error=[message.error.as_deref()]
            data-origins=(origins) {}
        h1 { (message.title()) }
        p { "You can close this window." }
    };
    page(message.title(), None, body, &["done.js"])
}

/// What a finished connect says.
#[derive(Debug, Clone)]
pub struct PopupMessage {
    /// `tokenvault:connected` or `tokenvault:error`.
    pub kind: &'static str,
    pub provider: String,
    pub integration_key: String,
    pub error: Option<String>,
}

impl PopupMessage {
    pub fn title(&self) -> &'static str {
        if self.kind == CONNECTED {
            "Connected"
        } else {
            "Not connected"
        }
    }
}

/// The message type of a success.
pub const CONNECTED: &str = "tokenvault:connected";
/// The message type of a failure.
pub const FAILED: &str = "tokenvault:error";

/// The device flow still waits for the user.
pub fn pending_page(check: &str) -> Markup {
    let body = html! {
        h1 { "Waiting for your approval" }
        p { "Approve the request at the provider, then check again." }
        p { a class="button" href=(check) { "Check again" } }
    };
    page("Waiting", None, body, &[])
}
