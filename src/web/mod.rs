//! Pages for people: the hosted connect page an app's end user meets, and the console an
//! operator signs in to. Here are the templates (maud, compiled), the static assets (one
//! stylesheet, a little vanilla JavaScript, no external asset), the console's sessions and the
//! CSRF tokens; the HTTP glue is `api::pages`, which calls the same domain services as the JSON
//! API. No page ever renders a secret, but a new API key once.

pub mod assets;
pub mod connect;
pub mod console;
pub mod layout;
pub mod session;

/// The headers every page carries: no script but this origin's files, no framing, no referrer
/// (a connect link's token is in its URL), nothing cached.
pub const PAGE_HEADERS: [(&str, &str); 6] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
];
