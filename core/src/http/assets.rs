//! Static files compiled into the binary (the admin UI, GraphiQL): kept gzip-compressed, served
//! as is to clients that take gzip and inflated for the rest, under a digest of their contents
//! so they can be cached for a year, every answer with its page's security headers.

use std::io::{Read, Write};

use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Cache policy of a file under a content digest.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One file, as served.
pub struct Asset {
    pub content_type: &'static str,
    /// The bytes, or `None` when only the compressed form is kept.
    plain: Option<Vec<u8>>,
    /// The gzip form, when it is smaller.
    gzip: Option<Vec<u8>>,
}

impl Asset {
    /// From the plain bytes, compressed once (text only, and only when it saves bytes).
    pub fn from_plain(path: &str, plain: Vec<u8>) -> Asset {
        let content_type = content_type(path);
        let compressible = content_type.starts_with("text/")
            || content_type == "application/json"
            || content_type == "image/svg+xml";
        let gzip = compressible
            .then(|| {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                enc.write_all(&plain).ok()?;
                enc.finish().ok()
            })
            .flatten()
            .filter(|z| z.len() < plain.len());
        Asset {
            content_type,
            plain: Some(plain),
            gzip,
        }
    }

    /// From gzip bytes as stored (vendored bundles).
    pub fn from_gzip(path: &str, gzip: Vec<u8>) -> Asset {
        Asset {
            content_type: content_type(path),
            plain: None,
            gzip: Some(gzip),
        }
    }

    /// What a client receives when it takes gzip (for size budgets).
    pub fn served_len(&self) -> usize {
        self.gzip
            .as_ref()
            .or(self.plain.as_ref())
            .map_or(0, Vec::len)
    }

    /// The uncompressed bytes.
    pub fn plain(&self) -> Option<Vec<u8>> {
        match (&self.plain, &self.gzip) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(z)) => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(z.as_slice())
                    .read_to_end(&mut out)
                    .ok()?;
                Some(out)
            }
            (None, None) => None,
        }
    }
}

pub fn content_type(path: &str) -> &'static str {
    match path
        .trim_end_matches(".gz")
        .rsplit_once('.')
        .map(|(_, ext)| ext)
    {
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

/// The headers of every page and file: its policy, no framing, no sniffing, no referrer.
pub fn secure(headers: &mut HeaderMap, csp: &'static str) {
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// Serves a file, gzip when the client takes it.
pub fn serve(
    asset: &Asset,
    request: &HeaderMap,
    cache: &'static str,
    csp: &'static str,
) -> Response {
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
        _ => match asset.plain() {
            Some(p) => p.into_response(),
            None => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    secure(headers, csp);
    response
}

/// 404 for a file that is not there (or not under the current digest).
pub fn not_found(csp: &'static str) -> Response {
    let mut r = (StatusCode::NOT_FOUND, "not found").into_response();
    secure(r.headers_mut(), csp);
    r
}

/// A short hex digest of what was hashed, for asset URLs.
pub fn short_digest(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
