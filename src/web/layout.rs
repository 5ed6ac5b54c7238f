//! The frame of every page.

use maud::{DOCTYPE, Markup, html};

/// A page: `title`, the stylesheet, and `body` inside `<main>`; `scripts` from `/assets/`.
pub fn page(title: &str, header: Option<Markup>, body: Markup, scripts: &[&str]) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · tokenvault" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                @if let Some(header) = header { (header) }
                main id="main" { (body) }
                @for script in scripts {
                    script src={ "/assets/" (script) } defer {}
                }
            }
        }
    }
}

/// A message page (an expired link, a refused form): a heading and a sentence.
pub fn message(title: &str, text: &str) -> Markup {
    page(
        title,
        None,
        html! {
            h1 { (title) }
            p { (text) }
        },
        &[],
    )
}

/// A hidden CSRF field.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}
