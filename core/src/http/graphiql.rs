//! GraphiQL, served from the binary: the page, React and GraphiQL's own bundle (MIT licences in
//! `core/vendor/graphiql/`, kept gzip-compressed) under `/graphql/assets/<digest>/…`, so a
//! browser opening `/graphql` makes no third-party request. The page has its own
//! Content-Security-Policy: scripts from this origin only; GraphiQL's editors inject styles.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

#[derive(rust_embed::RustEmbed)]
#[folder = "vendor/graphiql"]
struct Vendor;

const INIT: &str = include_str!("graphiql_init.js");

/// The GraphiQL page's policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct File {
    content_type: &'static str,
    gzip: Vec<u8>,
}

struct Bundle {
    digest: String,
    files: HashMap<String, File>,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    if enc.write_all(bytes).is_err() {
        return Vec::new();
    }
    enc.finish().unwrap_or_default()
}

fn bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        // The compressed bundles (the licence files beside them are not served).
        let mut names: Vec<String> = Vendor::iter()
            .map(|n| n.into_owned())
            .filter(|n| n.ends_with(".gz"))
            .collect();
        names.sort();
        let mut hasher = Sha256::new();
        let mut files = HashMap::new();
        for name in names {
            let Some(file) = Vendor::get(&name) else {
                continue;
            };
            hasher.update(file.metadata.sha256_hash());
            let plain = name.trim_end_matches(".gz").to_owned();
            let content_type = if plain.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                "text/javascript; charset=utf-8"
            };
            files.insert(
                plain,
                File {
                    content_type,
                    gzip: file.data.into_owned(),
                },
            );
        }
        hasher.update(INIT.as_bytes());
        files.insert(
            "init.js".to_owned(),
            File {
                content_type: "text/javascript; charset=utf-8",
                gzip: gzip(INIT.as_bytes()),
            },
        );
        let digest = hasher
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Bundle { digest, files }
    })
}

fn secure(headers: &mut HeaderMap) {
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// The GraphiQL page (not cached: it names the current asset digest).
pub fn page() -> Response {
    let base = format!("/graphql/assets/{}", bundle().digest);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Zellige GraphiQL</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"{base}/graphiql.min.css\">\n</head>\n<body style=\"margin:0\">\n<div id=\"graphiql\" style=\"height:100vh\"></div>\n<script src=\"{base}/react.production.min.js\"></script>\n<script src=\"{base}/react-dom.production.min.js\"></script>\n<script src=\"{base}/graphiql.min.js\"></script>\n<script src=\"{base}/init.js\"></script>\n</body>\n</html>\n"
    );
    let mut r = (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response();
    secure(r.headers_mut());
    r
}

/// One of GraphiQL's files: gzip as stored, or inflated for a client that does not take gzip.
pub async fn asset(Path((digest, name)): Path<(String, String)>, request: HeaderMap) -> Response {
    let b = bundle();
    let Some(file) = b.files.get(&name).filter(|_| digest == b.digest) else {
        let mut r = (StatusCode::NOT_FOUND, "not found").into_response();
        secure(r.headers_mut());
        return r;
    };
    let gzip_ok = request
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut r = if gzip_ok {
        let mut r = file.gzip.clone().into_response();
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        let mut plain = Vec::new();
        if flate2::read::GzDecoder::new(file.gzip.as_slice())
            .read_to_end(&mut plain)
            .is_err()
        {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        plain.into_response()
    };
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    secure(h);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_names_is_served() {
        let b = bundle();
        for name in [
            "graphiql.min.css",
            "graphiql.min.js",
            "react.production.min.js",
            "react-dom.production.min.js",
            "init.js",
        ] {
            assert!(b.files.contains_key(name), "{name}");
        }
    }
}
