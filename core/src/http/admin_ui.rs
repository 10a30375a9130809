//! The admin UI at `/admin`: static files from `admin-ui/`, embedded in the binary. Assets live
//! under `/admin/assets/<digest>/…`, where the digest covers every file, so they are cached for
//! a year (`immutable`) and a new build is a new URL; relative module imports keep working
//! inside the directory. The page itself is never cached. Every answer carries a strict
//! Content-Security-Policy (no inline script, no framing) and is gzip-compressed when the
//! client accepts it (compressed once, at first use).

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::AppState;

#[derive(rust_embed::RustEmbed)]
#[folder = "../admin-ui"]
struct Files;

/// The policy of every admin page: scripts, styles and connections from this origin only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct Asset {
    content_type: &'static str,
    plain: Vec<u8>,
    gzip: Option<Vec<u8>>,
}

struct Bundle {
    digest: String,
    index: Asset,
    assets: HashMap<String, Asset>,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn asset(path: &str, plain: Vec<u8>) -> Asset {
    let content_type = content_type(path);
    let compressible = content_type.starts_with("text/")
        || content_type == "application/json"
        || content_type == "image/svg+xml";
    let gzip = compressible
        .then(|| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&plain).ok()?;
            enc.finish().ok()
        })
        .flatten()
        .filter(|z| z.len() < plain.len());
    Asset {
        content_type,
        plain,
        gzip,
    }
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
        let mut assets = HashMap::new();
        for name in names {
            let Some(file) = Files::get(&name) else {
                continue;
            };
            hasher.update(name.as_bytes());
            hasher.update(file.metadata.sha256_hash());
            let path = name.trim_start_matches("assets/").to_owned();
            assets.insert(path.clone(), asset(&path, file.data.into_owned()));
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let page = Files::get("index.html")
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .unwrap_or_default()
            .replace("{{ASSETS}}", &format!("/admin/assets/{digest}"));
        Bundle {
            index: asset("index.html", page.into_bytes()),
            digest,
            assets,
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

/// The headers every admin page and asset carries.
pub fn security_headers(headers: &mut HeaderMap) {
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

fn serve(asset: &Asset, request: &HeaderMap, cache: &'static str) -> Response {
    let gzip_ok = request
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = match (&asset.gzip, gzip_ok) {
        (Some(z), true) => {
            let mut r = z.clone().into_response();
            r.headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        _ => asset.plain.clone().into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    security_headers(headers);
    response
}

async fn index(request: HeaderMap) -> Response {
    serve(&bundle().index, &request, "no-cache")
}

async fn file(Path((digest, path)): Path<(String, String)>, request: HeaderMap) -> Response {
    let bundle = bundle();
    match bundle.assets.get(&path) {
        Some(asset) if digest == bundle.digest => {
            serve(asset, &request, "public, max-age=31536000, immutable")
        }
        _ => {
            let mut r = (StatusCode::NOT_FOUND, "not found").into_response();
            security_headers(r.headers_mut());
            r
        }
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
        let size = |a: &Asset| a.gzip.as_ref().map_or(a.plain.len(), Vec::len);
        let total: usize = size(&b.index) + b.assets.values().map(size).sum::<usize>();
        assert!(b.assets.contains_key("app.js") && b.assets.contains_key("i18n/ar.json"));
        assert!(total < 200 * 1024, "{total} bytes");
    }

    #[test]
    fn the_page_points_at_the_digest_directory() {
        let b = bundle();
        let page = String::from_utf8_lossy(&b.index.plain);
        assert!(page.contains(&format!("/admin/assets/{}/app.js", b.digest)));
        assert!(!page.contains("{{ASSETS}}"));
        assert!(!page.contains("<script>"), "no inline script");
    }
}
