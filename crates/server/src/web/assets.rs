//! The first-party stylesheet and script, compiled into the binary. Their
//! paths carry a digest of their content, so they can be cached for a year
//! and a new build is fetched at once.

use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};

pub const STYLE: &str = include_str!("assets/site.css");
pub const SCRIPT: &str = include_str!("assets/site.js");
/// Live updates over the event stream (the unread count, the live room).
pub const LIVE_SCRIPT: &str = include_str!("assets/live.js");

fn digest(content: &str) -> String {
    hex::encode(&Sha256::digest(content.as_bytes())[..6])
}

pub static STYLE_FILE: LazyLock<String> = LazyLock::new(|| format!("/assets/site-{}.css", digest(STYLE)));
pub static SCRIPT_FILE: LazyLock<String> = LazyLock::new(|| format!("/assets/site-{}.js", digest(SCRIPT)));
pub static LIVE_SCRIPT_FILE: LazyLock<String> = LazyLock::new(|| format!("/assets/live-{}.js", digest(LIVE_SCRIPT)));

/// For templates: `href=(STYLE_PATH)` renders the digested path.
pub struct AssetPath(&'static LazyLock<String>);

impl maud::Render for AssetPath {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(self.0);
    }
}

pub const STYLE_PATH: AssetPath = AssetPath(&STYLE_FILE);
pub const SCRIPT_PATH: AssetPath = AssetPath(&SCRIPT_FILE);
pub const LIVE_SCRIPT_PATH: AssetPath = AssetPath(&LIVE_SCRIPT_FILE);

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn style() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, IMMUTABLE)], STYLE)
}

pub async fn script() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, IMMUTABLE)], SCRIPT)
}

pub async fn live_script() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, IMMUTABLE)], LIVE_SCRIPT)
}
