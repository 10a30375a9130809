//! The MIME type of an upload, told by its first bytes (never by its name or the client's
//! `Content-Type`), and whether a tenant accepts it.

/// How many leading bytes [`mime_of`] looks at.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The MIME type of content starting with `head`: the magic numbers `infer` knows, then the
/// text formats it does not tell apart (SVG, HTML, XML, plain text), else
/// `application/octet-stream`.
pub fn mime_of(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type();
        // `infer` calls any XML `text/xml`; SVG is decided below.
        if mime != "text/xml" && mime != "text/html" {
            return mime.to_owned();
        }
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]).to_lowercase();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let markup_start = |tag: &str| {
        trimmed.starts_with(tag)
            || (trimmed.starts_with("<?xml")
                || trimmed.starts_with("<!--")
                || trimmed.starts_with("<!doctype svg"))
                && trimmed.contains(tag)
    };
    if markup_start("<svg") {
        return "image/svg+xml".into();
    }
    let html_markers = [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<script",
        "<iframe",
        "<meta",
        "<title",
    ];
    if html_markers.iter().any(|m| trimmed.starts_with(m)) || trimmed.contains("<script") {
        return "text/html".into();
    }
    if trimmed.starts_with("<?xml") {
        return "application/xml".into();
    }
    if std::str::from_utf8(head).is_ok() && !head.contains(&0) {
        return "text/plain".into();
    }
    "application/octet-stream".into()
}

/// Whether `mime` is in `allowed` (whole types or `type/*` prefixes).
pub fn allowed(mime: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        a == mime
            || a.strip_suffix("/*")
                .is_some_and(|p| mime.split('/').next() == Some(p))
    })
}

/// Whether the type is a raster image the transforms can decode.
pub fn is_raster(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(mime_of(b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), "image/jpeg");
        assert_eq!(mime_of(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png");
        assert_eq!(mime_of(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(
            mime_of(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"),
            "image/svg+xml"
        );
        assert_eq!(mime_of(b"  <svg onload=alert(1)>"), "image/svg+xml");
        assert_eq!(
            mime_of(b"<!DOCTYPE html><html><script>x</script>"),
            "text/html"
        );
        assert_eq!(mime_of(b"<p>hi</p><script>alert(1)</script>"), "text/html");
        assert_eq!(mime_of("نص عربي".as_bytes()), "text/plain");
        assert_eq!(mime_of(b"\x00\x01\x02\x03"), "application/octet-stream");
    }

    #[test]
    fn allow_lists_take_wildcards() {
        let list = vec!["image/*".to_owned(), "application/pdf".to_owned()];
        assert!(allowed("image/png", &list));
        assert!(allowed("application/pdf", &list));
        assert!(!allowed("text/html", &list));
        assert!(!allowed("imagex/png", &list));
    }
}
