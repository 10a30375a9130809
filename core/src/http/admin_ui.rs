//! The admin UI at `/admin`: static files from `admin-ui/`, embedded in the binary. Assets live
//! under `/admin/assets/<digest>/…`, where the digest covers every file, so they are cached for
//! a year (`immutable`) and a new build is a new URL; relative module imports keep working
//! inside the directory. The page itself is never cached. Every answer carries a strict
//! Content-Security-Policy (no inline script, no framing) and is gzip-compressed when the
//! client accepts it (compressed once, at first use).

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::AppState;
use super::assets::{self, Asset};

#[derive(rust_embed::RustEmbed)]
#[folder = "../admin-ui"]
struct Files;

/// The policy of every admin page: scripts, styles and connections from this origin only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct Bundle {
    digest: String,
    index: Asset,
    assets: HashMap<String, Asset>,
}

fn bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let mut names: Vec<String> = Files::iter()
            .map(|n| n.into_owned())
            .filter(|n| n.starts_with("assets/"))
            .collect();
        names.sort();
        let mut hasher = Sha256::new();
        let mut files = HashMap::new();
        for name in names {
            let Some(file) = Files::get(&name) else {
                continue;
            };
            hasher.update(name.as_bytes());
            hasher.update(file.metadata.sha256_hash());
            let path = name.trim_start_matches("assets/").to_owned();
            files.insert(
                path.clone(),
                Asset::from_plain(&path, file.data.into_owned()),
            );
        }
        let digest = assets::short_digest(hasher);
        let page = Files::get("index.html")
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .unwrap_or_default()
            .replace("{{ASSETS}}", &format!("/admin/assets/{digest}"));
        Bundle {
            index: Asset::from_plain("index.html", page.into_bytes()),
            digest,
            assets: files,
        }
    })
}

/// The admin UI's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/", get(index))
        .route("/admin/assets/{digest}/{*path}", get(file))
}

async fn index(request: HeaderMap) -> Response {
    assets::serve(&bundle().index, &request, "no-cache", CSP)
}

async fn file(Path((digest, path)): Path<(String, String)>, request: HeaderMap) -> Response {
    let bundle = bundle();
    match bundle.assets.get(&path) {
        Some(asset) if digest == bundle.digest => {
            assets::serve(asset, &request, assets::IMMUTABLE, CSP)
        }
        _ => assets::not_found(CSP),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole UI (page, every script, style and catalogue, as served compressed) stays under
    /// 200 KB: the first page loads a fraction of it.
    #[test]
    fn the_whole_ui_weighs_under_200_kb_compressed() {
        let b = bundle();
        let total: usize =
            b.index.served_len() + b.assets.values().map(Asset::served_len).sum::<usize>();
        assert!(b.assets.contains_key("app.js") && b.assets.contains_key("i18n/ar.json"));
        assert!(total < 200 * 1024, "{total} bytes");
    }

    #[test]
    fn the_page_points_at_the_digest_directory() {
        let b = bundle();
        let page = String::from_utf8_lossy(&b.index.plain().unwrap_or_default()).into_owned();
        assert!(page.contains(&format!("/admin/assets/{}/app.js", b.digest)));
        assert!(!page.contains("{{ASSETS}}"));
        assert!(!page.contains("<script>"), "no inline script");
    }
}
