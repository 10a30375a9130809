//! Cookie sessions for the admin UI. A browser must not keep a session token where script can
//! read it, so `POST /auth/login` with `"cookie": true` puts it in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` except on loopback) and answers with a CSRF token instead.
//!
//! On the admin API, a request without `Authorization` but with the cookie is authenticated by
//! it; a state-changing one must also carry `X-CSRF-Token` (derived from the session token, so
//! only a page that read it from `/auth/login` or `/auth/me` can send it) and, when it sends
//! `Origin`, come from this host. Bearer credentials are untouched: the cookie is only a way
//! to carry the same session token, so every extractor downstream works unchanged.

use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::error::ErrorCode;

/// The session cookie's name; its path is `/admin` (the UI and its API).
pub const SESSION_COOKIE: &str = "zellige_session";
/// The header a cookie-authenticated state-changing request carries.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token of a session: a digest of the (secret) session token, so the server keeps
/// nothing and a page that cannot read the cookie cannot compute it.
pub fn csrf_token(session_token: &str) -> String {
    let digest = Sha256::digest(format!("zellige-csrf\0{session_token}").as_bytes());
    digest.iter().take(24).map(|b| format!("{b:02x}")).collect()
}

/// A request authenticated by the session cookie, with the CSRF token its page must send.
#[derive(Debug, Clone)]
pub struct CookieSession {
    pub csrf: String,
}

/// The session token in the request's cookies, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the request is addressed to a loopback host (no TLS expected there).
pub fn is_loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `Set-Cookie` carrying a session (`max_age` seconds) or, with `None`, clearing it.
pub fn set_cookie(headers: &HeaderMap, token: Option<&str>, max_age: u64) -> HeaderValue {
    let secure = if is_loopback(headers) { "" } else { "; Secure" };
    let value = match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ),
        None => {
            format!("{SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
        }
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn refused(message: &str) -> Response {
    ApiError::new(ErrorCode::Forbidden, message).into_response()
}

/// Turns a session cookie into the bearer credential the admin API reads, after the CSRF
/// checks for state-changing methods.
pub async fn credentials(mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    if headers.contains_key(AUTHORIZATION) {
        return next.run(req).await;
    }
    let Some(token) = session_token(headers) else {
        return next.run(req).await;
    };
    let csrf = csrf_token(&token);
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        if let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
            let host = headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let same = origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host));
            if !same {
                return refused("a cross-site request may not use the session cookie");
            }
        }
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
            return refused("a request with the session cookie needs its X-CSRF-Token header");
        }
    }
    match HeaderValue::from_str(&format!("Bearer {token}")) {
        Ok(v) => {
            req.headers_mut().insert(AUTHORIZATION, v);
        }
        Err(_) => return refused("malformed session cookie"),
    }
    req.extensions_mut().insert(CookieSession { csrf });
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn the_session_is_found_among_other_cookies() {
        let h = headers(&[("cookie", "theme=dark; zellige_session=zls_abc ; lang=ar")]);
        assert_eq!(session_token(&h).as_deref(), Some("zls_abc"));
        assert_eq!(
            session_token(&headers(&[("cookie", "zellige_session=")])),
            None
        );
    }

    #[test]
    fn secure_except_on_loopback() {
        for host in ["127.0.0.1:4000", "localhost:4000", "[::1]:4000"] {
            let v = set_cookie(&headers(&[("host", host)]), Some("t"), 60);
            let v = v.to_str().expect("ascii");
            assert!(!v.contains("Secure"), "{host}: {v}");
            assert!(
                v.contains("HttpOnly") && v.contains("SameSite=Strict"),
                "{v}"
            );
        }
        let v = set_cookie(
            &headers(&[("host", "cms.artisanat-marrakech.ma")]),
            Some("t"),
            60,
        );
        assert!(v.to_str().expect("ascii").ends_with("; Secure"));
    }

    #[test]
    fn csrf_tokens_differ_per_session() {
        assert_ne!(csrf_token("zls_a"), csrf_token("zls_b"));
        assert_eq!(csrf_token("zls_a"), csrf_token("zls_a"));
    }
}
