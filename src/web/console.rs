//! The console's templates. Every form carries the session's CSRF token; no page renders a
//! secret but a new API key, once. Lists come a page at a time (`Pager`).

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime};
use maud::{Markup, html};

use super::layout::{csrf_field, page};
use crate::auth::keys::{ApiKeyInfo, CreatedApiKey};
use crate::db::events::EventRow;
use crate::db::tokens::TokenRow;
use crate::db::webhooks::WebhookRow;
use crate::model::timestamp;
use crate::providers::Provider;
use crate::providers::tenant::Source;
use crate::webhooks::Delivery;

/// Rows of a list page.
pub const PAGE_SIZE: usize = 25;

/// Which page of a list, and whether there are more.
#[derive(Debug, Clone)]
pub struct Pager {
    /// 1-based.
    pub page: usize,
    pub has_next: bool,
    /// The list's URL with its other query parameters, ending in `?` or `&`.
    pub base: String,
}

impl Pager {
    /// The rows of page `page` of `rows` (all read), and the pager.
    pub fn slice<T>(rows: Vec<T>, page: usize, base: String) -> (Vec<T>, Pager) {
        let start = page.saturating_sub(1).saturating_mul(PAGE_SIZE);
        let has_next = rows.len() > start.saturating_add(PAGE_SIZE);
        let rows = rows.into_iter().skip(start).take(PAGE_SIZE).collect();
        (
            rows,
            Pager {
                page,
                has_next,
                base,
            },
        )
    }

    fn links(&self) -> Markup {
        html! {
            nav class="pager" aria-label="Pages" {
                @if self.page > 1 {
                    a href={ (self.base) "page=" (self.page - 1) } rel="prev" { "Previous page" }
                }
                span { "Page " (self.page) }
                @if self.has_next {
                    a href={ (self.base) "page=" (self.page + 1) } rel="next" { "Next page" }
                }
            }
        }
    }
}

/// Who is signed in, for the header.
#[derive(Debug, Clone, Copy)]
pub struct Nav<'a> {
    pub tenant: &'a str,
    pub csrf: &'a str,
}

fn header(nav: Nav<'_>) -> Markup {
    html! {
        header class="bar" {
            strong { "tokenvault console" }
            span { "tenant " (nav.tenant) }
            nav aria-label="Console" {
                ul {
                    li { a href="/console/users" { "Users" } }
                    li { a href="/console/webhooks" { "Webhooks" } }
                    li { a href="/console/keys" { "API keys" } }
                    li { a href="/console/providers" { "Providers" } }
                }
            }
            form method="post" action="/console/signout" {
                (csrf_field(nav.csrf))
                button type="submit" class="quiet" { "Sign out" }
            }
        }
    }
}

fn console_page(title: &str, nav: Nav<'_>, body: Markup) -> Markup {
    page(title, Some(header(nav)), body, &["console.js"])
}

fn when(at: Option<NaiveDateTime>) -> String {
    at.map_or_else(|| "—".into(), timestamp)
}

fn when_ms(ms: Option<i64>) -> String {
    let at = ms.and_then(DateTime::from_timestamp_millis);
    when(at.map(|at| at.naive_utc()))
}

/// Who a credential belongs to at the provider: the stored account's email, name or id.
fn account_of(stored: Option<&str>) -> String {
    let value: serde_json::Value = stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    ["email", "name", "id"]
        .iter()
        .find_map(|field| value[field].as_str().map(str::to_string))
        .unwrap_or_else(|| "—".into())
}

/// A message above a page's content: (is it good news, text).
pub type Notice<'a> = Option<(bool, &'a str)>;

fn notice_of(notice: Notice<'_>) -> Markup {
    html! {
        @if let Some((good, text)) = notice {
            p class=(if good { "ok" } else { "notice" }) role=(if good { "status" } else { "alert" }) { (text) }
        }
    }
}

/// The sign-in page.
pub fn signin(csrf: &str, notice: Notice<'_>) -> Markup {
    let body = html! {
        h1 { "Sign in to the console" }
        (notice_of(notice))
        form method="post" action="/console/signin" {
            (csrf_field(csrf))
            label for="api_key" { "Admin API key" }
            input id="api_key" name="api_key" type="password" required autocomplete="off" aria-describedby="api_key_help";
            p id="api_key_help" class="fine" { "An API key with scope admin, of the whole tenant (agk_…)." }
            button type="submit" { "Sign in" }
        }
    };
    page("Sign in", None, body, &[])
}

/// Find a user: the tenant's users with credentials, by id prefix.
pub fn users(nav: Nav<'_>, query: &str, rows: &[(String, i64)], pager: &Pager) -> Markup {
    let body = html! {
        h1 { "Users" }
        form method="get" action="/console/users" class="inline" role="search" {
            div { label for="q" { "User id starts with" } input id="q" name="q" value=(query); }
            button type="submit" { "Find" }
        }
        @if rows.is_empty() { p { "No user with credentials matches." } }
        @else {
            div class="table" { table {
                thead { tr { th scope="col" { "User" } th scope="col" { "Credentials" } } }
                tbody { @for (user, count) in rows { tr {
                    td { a href={ "/console/users/" (encode(user)) } { (user) } }
                    td { (count) }
                } } }
            } }
        }
        (pager.links())
    };
    console_page("Users", nav, body)
}

/// A freshly made re-connect link, shown on the user's page.
#[derive(Debug)]
pub struct NewLink {
    pub url: String,
    pub expires_at: NaiveDateTime,
}

/// A user's connections.
pub fn connections(
    nav: Nav<'_>,
    user: &str,
    rows: &[TokenRow],
    notice: Notice<'_>,
    link: Option<&NewLink>,
) -> Markup {
    let base = format!("/console/users/{}", encode(user));
    let body = html! {
        h1 { "Connections of " (user) }
        (notice_of(notice))
        @if let Some(link) = link {
            div class="ok" role="status" {
                p { "Re-connect link (send it to the user; it works until " (timestamp(link.expires_at)) "):" }
                p class="secret" id="reconnect-link" { (link.url) }
            }
        }
        @if rows.is_empty() { p { "This user has no credentials." } }
        @else {
            div class="table" { table {
                thead { tr {
                    th scope="col" { "Integration" } th scope="col" { "Provider" } th scope="col" { "Status" }
                    th scope="col" { "Expires" } th scope="col" { "Account" } th scope="col" { "Last refresh" }
                    th scope="col" { "Actions" }
                } }
                tbody { @for row in rows { (connection_row(nav, &base, row)) } }
            } }
        }
    };
    console_page(&format!("Connections of {user}"), nav, body)
}

fn connection_row(nav: Nav<'_>, base: &str, row: &TokenRow) -> Markup {
    let key = encode(&row.integration_key);
    let status = row.status.as_str();
    html! {
        tr {
            th scope="row" { a href={ (base) "/connections/" (key) "/events" } { (row.integration_key) } }
            td { (row.provider) }
            td class={ "status-" (status) } { (status) }
            td { (when(row.expires_at)) }
            td { (account_of(row.account.as_deref())) }
            td { (when_ms(row.last_refresh_at)) }
            td class="actions" {
                form method="post" action={ (base) "/connections/" (key) "/reconnect" } {
                    (csrf_field(nav.csrf))
                    button type="submit" { "Send a re-connect link" }
                }
                " "
                form method="post" action={ (base) "/connections/" (key) "/delete" }
                    data-confirm={ "Delete " (row.integration_key) " and revoke it at the provider?" } {
                    (csrf_field(nav.csrf))
                    button type="submit" class="danger" aria-label={ "Delete " (row.integration_key) } { "Delete" }
                }
            }
        }
    }
}

/// A connection's events, newest first.
pub fn events(nav: Nav<'_>, user: &str, key: &str, rows: &[EventRow], pager: &Pager) -> Markup {
    let body = html! {
        p { a href={ "/console/users/" (encode(user)) } { "← Connections of " (user) } }
        h1 { "Events of " (key) }
        @if rows.is_empty() { p { "No events." } }
        @else {
            div class="table" { table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Outcome" } th scope="col" { "Reason" } } }
                tbody { @for row in rows { tr {
                    td { (timestamp(row.created_at)) }
                    td { (row.event.as_str()) }
                    td { (row.outcome.as_str()) }
                    td { (row.reason.as_deref().unwrap_or("")) }
                } } }
            } }
        }
        (pager.links())
    };
    console_page(&format!("Events of {key}"), nav, body)
}

/// The tenant's webhook endpoints.
pub fn webhooks(nav: Nav<'_>, rows: &[WebhookRow]) -> Markup {
    let body = html! {
        h1 { "Webhooks" }
        @if rows.is_empty() { p { "No webhook endpoints. Add one with POST /v2/webhooks." } }
        @else {
            div class="table" { table {
                thead { tr { th scope="col" { "Endpoint" } th scope="col" { "Events" } th scope="col" { "Created" } } }
                tbody { @for row in rows { tr {
                    td { a href={ "/console/webhooks/" (encode(&row.id)) } { (row.url) } }
                    td { (row.events) }
                    td { (timestamp(row.created_at)) }
                } } }
            } }
        }
    };
    console_page("Webhooks", nav, body)
}

fn delivery_state(message: &crate::db::webhooks::MessageRow) -> &'static str {
    if message.delivered_at.is_some() {
        "delivered"
    } else if message.failed_at.is_some() {
        "failed"
    } else {
        "pending"
    }
}

/// An endpoint's deliveries, newest first, with "Retry now" on those not delivered.
pub fn deliveries(
    nav: Nav<'_>,
    webhook: &WebhookRow,
    rows: &[Delivery],
    pager: &Pager,
    notice: Notice<'_>,
) -> Markup {
    let base = format!("/console/webhooks/{}", encode(&webhook.id));
    let body = html! {
        p { a href="/console/webhooks" { "← Webhooks" } }
        h1 { "Deliveries to " (webhook.url) }
        (notice_of(notice))
        @if rows.is_empty() { p { "No deliveries yet." } }
        @else {
            div class="table" { table {
                thead { tr {
                    th scope="col" { "Message" } th scope="col" { "Event" } th scope="col" { "State" }
                    th scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { "Actions" }
                } }
                tbody { @for (message, attempts) in rows {
                    @let state = delivery_state(message);
                    tr {
                        td { (message.id) }
                        td { (message.event_type) }
                        td class={ "status-" (state) } { (state) }
                        td { (attempts.len()) }
                        td { (message.last_status.map(|s| s.to_string()).or_else(|| message.last_error.clone()).unwrap_or_default()) }
                        td { @if state != "delivered" {
                            form method="post" action={ (base) "/deliveries/" (encode(&message.id)) "/retry" } {
                                (csrf_field(nav.csrf))
                                button type="submit" { "Retry now" }
                            }
                        } }
                    }
                } }
            } }
        }
        (pager.links())
    };
    console_page("Deliveries", nav, body)
}

/// The tenant's API keys; a key just made is shown once.
pub fn keys(
    nav: Nav<'_>,
    rows: &[ApiKeyInfo],
    created: Option<&CreatedApiKey>,
    pager: &Pager,
    notice: Notice<'_>,
) -> Markup {
    let body = html! {
        h1 { "API keys" }
        (notice_of(notice))
        @if let Some(created) = created {
            div class="ok" role="status" {
                p { "The new key " strong { (created.info.name) } ". Store it now: it is not shown again." }
                p class="secret" id="new-key" { (created.key) }
            }
        }
        (new_key_form(nav))
        div class="table" { table {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Prefix" } th scope="col" { "Scopes" } th scope="col" { "User" }
                th scope="col" { "State" } th scope="col" { "Last used" } th scope="col" { "Actions" }
            } }
            tbody { @for key in rows { tr {
                th scope="row" { (key.name) }
                td { (key.prefix) "…" }
                td { (key.scopes.join(", ")) }
                td { (key.user_id.as_deref().unwrap_or("any")) }
                td { (key.state) }
                td { (key.last_used_at.as_deref().unwrap_or("—")) }
                td { @if key.state == "active" {
                    form method="post" action={ "/console/keys/" (encode(&key.id)) "/revoke" }
                        data-confirm={ "Revoke the key " (key.name) "?" } {
                        (csrf_field(nav.csrf))
                        button type="submit" class="danger" aria-label={ "Revoke " (key.name) } { "Revoke" }
                    }
                } }
            } } }
        } }
        (pager.links())
    };
    console_page("API keys", nav, body)
}

fn new_key_form(nav: Nav<'_>) -> Markup {
    html! {
        form method="post" action="/console/keys" {
            (csrf_field(nav.csrf))
            fieldset {
                legend { "Create a key" }
                label for="name" { "Name" }
                input id="name" name="name" required maxlength="100";
                fieldset {
                    legend { "Scopes" }
                    @for scope in ["tokens:read", "tokens:write", "admin"] {
                        label { input type="checkbox" name="scope" value=(scope) checked[scope != "admin"]; " " (scope) }
                    }
                }
                label for="user_id" { "Bound to user (optional)" }
                input id="user_id" name="user_id";
                button type="submit" { "Create key" }
            }
        }
    }
}

/// The providers this tenant can use: the catalogue and its own, with whether a client is set.
pub fn providers(nav: Nav<'_>, rows: &[(Arc<Provider>, Source, bool)], pager: &Pager) -> Markup {
    let body = html! {
        h1 { "Providers" }
        div class="table" { table {
            thead { tr {
                th scope="col" { "Provider" } th scope="col" { "Kinds" } th scope="col" { "Source" } th scope="col" { "OAuth client" }
            } }
            tbody { @for (provider, source, client) in rows { tr {
                th scope="row" { (provider.display_name) " " span class="fine" { "(" (provider.key) ")" } }
                td { (provider.token_types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")) }
                td { (match source { Source::Catalogue => "catalogue", Source::Tenant => "tenant" }) }
                td { @if provider.supports_connect() || provider.supports_device() {
                    (if *client { "configured" } else { "not configured" })
                } @else { "—" } }
            } } }
        } }
        (pager.links())
    };
    console_page("Providers", nav, body)
}

/// A path segment, percent-encoded.
pub fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
