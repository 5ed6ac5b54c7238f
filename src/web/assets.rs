//! The pages' static files, compiled in: served under `/assets/` (and `/connect.js`).

/// The one stylesheet.
pub const STYLE_CSS: &str = include_str!("assets/style.css");

/// `tokenvault.connect(url)`: an app's frontend opens the hosted connect page in a popup and
/// gets the result.
pub const CONNECT_JS: &str = include_str!("assets/connect.js");

/// The last page of a popup connect: posts the result to the opener and closes.
pub const DONE_JS: &str = include_str!("assets/done.js");

/// The console's small behaviours (confirming a delete, copying a link).
pub const CONSOLE_JS: &str = include_str!("assets/console.js");

/// The file served at `/assets/{name}` and its content type.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "style.css" => Some((STYLE_CSS, "text/css; charset=utf-8")),
        "connect.js" => Some((CONNECT_JS, "text/javascript; charset=utf-8")),
        "done.js" => Some((DONE_JS, "text/javascript; charset=utf-8")),
        "console.js" => Some((CONSOLE_JS, "text/javascript; charset=utf-8")),
        _ => None,
    }
}
