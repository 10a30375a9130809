//! `GET /media/{tenant}/{id}/{name}`: an asset's bytes, or an image variant when transform
//! parameters are given (`?w=800&format=webp`).
//!
//! Who may fetch: anyone when the asset is marked public or a published entry uses it;
//! otherwise a credential of the tenant that may browse the library. Answers carry an `ETag`
//! (the content hash), `Last-Modified`, `Cache-Control` (immutable for variants, which are
//! content-addressed), honour `If-None-Match`/`If-Modified-Since` (304) and `Range` (206), and
//! are sandboxed: `X-Content-Type-Options: nosniff` and a `Content-Security-Policy` that lets
//! no script run, so an uploaded SVG cannot act in the site's origin. Files other than images,
//! audio and video are attachments.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use object_store::{GetOptions, GetRange};

use super::AppState;
use super::context::authenticate;
use super::error::ApiError;
use crate::access::{self, MediaAction};
use crate::error::ErrorCode;
use crate::media::transform::RawParams;
use crate::media::{MediaError, Storage};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/media/{tenant}/{id}/{name}", axum::routing::get(serve))
}

const CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such file")
}

async fn serve(
    State(state): State<AppState>,
    Path((tenant, id, _name)): Path<(String, String, String)>,
    Query(raw): Query<RawParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = match state.tenants.by_slug(&state.db, &tenant).await {
        Ok(ctx) => ctx,
        Err(crate::tenancy::TenancyError::Unknown(_)) => return Err(not_found()),
        Err(e) => return Err(ApiError::internal(&e)),
    };
    let asset = match state.media.get_for_serving(&ctx, &id).await {
        Ok(a) => a,
        Err(MediaError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if !state.media.is_visible(&ctx, &asset).await? {
        // Private: a credential of this tenant that may browse the library. Anything else is
        // told "not found", so ids of private assets cannot be probed.
        let who = authenticate(&state, &headers).await?;
        let same_tenant = who.tenant_id.as_deref() == Some(ctx.id());
        if !same_tenant || access::check_media(&who.principal, MediaAction::Read, None).is_err() {
            return Err(not_found());
        }
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let store = state.media.storage().store().clone();
    let max_age = state.media.config().max_age_seconds;
    let (path, mime, etag, cache_control, size) =
        if raw.is_empty() || !crate::media::detect::is_raster(&asset.mime) {
            (
                Storage::original(ctx.id(), &asset.sha256),
                asset.mime.clone(),
                format!("\"{}\"", asset.sha256),
                format!("public, max-age={max_age}"),
                u64::try_from(asset.size).unwrap_or(0),
            )
        } else {
            let params = raw
                .check(state.media.config(), accept, &asset.mime)
                .map_err(|f| {
                    ApiError::new(
                        ErrorCode::BadUserInput,
                        format!("invalid input: {}", crate::error::describe_fields(&f)),
                    )
                    .with_fields(f)
                })?;
            let variant = state.media.variant(&ctx, &asset, &params).await?;
            (
                variant.path.clone(),
                variant.mime.to_owned(),
                format!(
                    "\"{}-{}\"",
                    &asset.sha256[..16.min(asset.sha256.len())],
                    params.canonical().replace(['=', ','], "")
                ),
                "public, max-age=31536000, immutable".to_owned(),
                variant.size,
            )
        };
    let last_modified = asset.created_at;
    let last_modified_text = httpdate(last_modified);
    let mut base = HeaderMap::new();
    let set = |h: &mut HeaderMap, name: header::HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(name, v);
        }
    };
    set(&mut base, header::ETAG, &etag);
    set(&mut base, header::LAST_MODIFIED, &last_modified_text);
    set(&mut base, header::CACHE_CONTROL, &cache_control);
    set(&mut base, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(&mut base, header::CONTENT_SECURITY_POLICY, CSP);
    set(&mut base, header::ACCEPT_RANGES, "bytes");
    if raw.format.as_deref() == Some("auto") {
        set(&mut base, header::VARY, "Accept");
    }
    if is_fresh(&headers, &etag, last_modified) {
        return Ok((StatusCode::NOT_MODIFIED, base).into_response());
    }
    let inline =
        mime.starts_with("image/") || mime.starts_with("video/") || mime.starts_with("audio/");
    let disposition = if inline && mime != "image/svg+xml" {
        "inline".to_owned()
    } else {
        format!(
            "attachment; filename*=UTF-8''{}",
            url::form_urlencoded::byte_serialize(asset.file_name.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        )
    };
    set(&mut base, header::CONTENT_DISPOSITION, &disposition);
    set(&mut base, header::CONTENT_TYPE, &mime);
    // A Range that does not match the current ETag (If-Range) is ignored: the whole file.
    let range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == etag);
    // Ranges are resolved against the known size, so an unsatisfiable one is answered here.
    let range = match headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| range_ok)
        .map(|v| parse_range(v, size))
    {
        Some(Err(())) => {
            set(&mut base, header::CONTENT_RANGE, &format!("bytes */{size}"));
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, base).into_response());
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    let options = GetOptions {
        range: range.clone().map(GetRange::Bounded),
        ..Default::default()
    };
    let got = match store.get_opts(&path, options).await {
        Ok(g) => g,
        Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(ApiError::internal(&e)),
    };
    let total = got.meta.size;
    let served = got.range.clone();
    set(
        &mut base,
        header::CONTENT_LENGTH,
        &(served.end - served.start).to_string(),
    );
    let status = if range.is_some() {
        set(
            &mut base,
            header::CONTENT_RANGE,
            &format!(
                "bytes {}-{}/{}",
                served.start,
                served.end.saturating_sub(1),
                total
            ),
        );
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let body = Body::from_stream(got.into_stream());
    Ok((status, base, body).into_response())
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` of a `size`-byte file, as the byte range to send;
/// `Err` when it cannot be satisfied (one range only: several are refused the same way).
fn parse_range(v: &str, size: u64) -> Result<std::ops::Range<u64>, ()> {
    let spec = v.strip_prefix("bytes=").ok_or(())?.trim();
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let range = match (a.trim(), b.trim()) {
        ("", n) => {
            let n = n.parse::<u64>().map_err(|_| ())?.min(size);
            size - n..size
        }
        (a, "") => a.parse::<u64>().map_err(|_| ())?..size,
        (a, b) => {
            let (a, b) = (
                a.parse::<u64>().map_err(|_| ())?,
                b.parse::<u64>().map_err(|_| ())?,
            );
            if b < a {
                return Err(());
            }
            a..(b + 1).min(size)
        }
    };
    if range.start >= range.end {
        return Err(());
    }
    Ok(range)
}

/// Whether the client's copy is current: `If-None-Match` wins over `If-Modified-Since`.
fn is_fresh(headers: &HeaderMap, etag: &str, modified_ms: i64) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| since.timestamp() >= modified_ms / 1000)
}

fn httpdate(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

impl IntoResponse for MediaError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
