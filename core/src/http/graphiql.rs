//! GraphiQL, served from the binary: the page, React and GraphiQL's own bundle (MIT licences in
//! `core/vendor/graphiql/`, kept gzip-compressed) under `/graphql/assets/<digest>/…`, so a
//! browser opening `/graphql` makes no third-party request. The page has its own
//! Content-Security-Policy: scripts from this origin only; GraphiQL's editors inject styles.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::assets::{self, Asset};

#[derive(rust_embed::RustEmbed)]
#[folder = "vendor/graphiql"]
struct Vendor;

const INIT: &str = include_str!("graphiql_init.js");

/// The GraphiQL page's policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct Bundle {
    digest: String,
    files: HashMap<String, Asset>,
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
            files.insert(plain, Asset::from_gzip(&name, file.data.into_owned()));
        }
        hasher.update(INIT.as_bytes());
        files.insert(
            "init.js".to_owned(),
            Asset::from_plain("init.js", INIT.as_bytes().to_vec()),
        );
        Bundle {
            digest: assets::short_digest(hasher),
            files,
        }
    })
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
    assets::secure(r.headers_mut(), CSP);
    r
}

/// One of GraphiQL's files (gzip as stored, inflated for a client that does not take it).
pub async fn asset(Path((digest, name)): Path<(String, String)>, request: HeaderMap) -> Response {
    let b = bundle();
    match b.files.get(&name) {
        Some(file) if digest == b.digest => assets::serve(file, &request, assets::IMMUTABLE, CSP),
        _ => assets::not_found(CSP),
    }
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
