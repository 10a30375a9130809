//! Small helpers for writing HTML fragments safely.
//!
//! The host sanitizes every fragment anyway, but a plugin that escapes what it inserts renders
//! text as text (an artisan called `<Ali & Sons>` stays readable) and keeps its markup intact.

/// Escapes `&`, `<`, `>`, `"` and `'`, so that `text` is safe both between tags and inside a
/// quoted attribute value. Arabic and every other non-ASCII text is left as is.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `text` for use as one component of a URL (a path segment or a query value):
/// everything but `A-Z a-z 0-9 - . _ ~` is encoded, UTF-8 byte by byte.
pub fn encode_uri_component(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// Fills a URL template such as `/events/{slug}` or `?year={year}&month={month}`: each
/// `{name}` whose name is in `vars` becomes its value, percent-encoded with
/// [`encode_uri_component`]; other braces are left as they are. HTML-escape the result before
/// putting it in an attribute.
pub fn fill_template(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (close, *value))
        });
        match value {
            Some((close, value)) => {
                out.push_str(&encode_uri_component(value));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `url` is safe as a link or image address: `http:`, `https:`, `mailto:` or `tel:`,
/// or a relative URL (`/path`, `?query`, `#anchor`, `path`). `javascript:`, `data:` and every
/// other scheme are refused. Control characters and spaces that browsers ignore inside a
/// scheme are taken into account.
pub fn is_safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect();
    if cleaned.is_empty() {
        return false;
    }
    // A scheme is what comes before the first `:`, if no `/`, `?` or `#` comes first.
    let end = cleaned.find(['/', '?', '#']).unwrap_or(cleaned.len());
    match cleaned[..end].find(':') {
        None => true,
        Some(colon) => {
            let scheme = cleaned[..colon].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto" | "tel")
        }
    }
}

/// The writing direction of `locale` for the `dir` attribute: `rtl` for Arabic and the other
/// right-to-left languages (`ar`, `ar-MA`, `fa`, `he`, `ur` …), `ltr` otherwise (including
/// `fr` and Tamazight in Tifinagh, `zgh`).
pub fn dir_of(locale: &str) -> &'static str {
    let language = locale
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match language.as_str() {
        "ar" | "arq" | "ary" | "fa" | "he" | "iw" | "ur" | "ps" | "sd" | "ug" | "yi" | "dv"
        | "ckb" => "rtl",
        _ => "ltr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            html_escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(html_escape("دليل الحرفيين"), "دليل الحرفيين");
    }

    #[test]
    fn encodes_uri_components() {
        assert_eq!(encode_uri_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_uri_component("زليج"), "%D8%B2%D9%84%D9%8A%D8%AC");
        assert_eq!(encode_uri_component("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn fills_templates() {
        assert_eq!(
            fill_template(
                "?year={year}&month={month}",
                &[("year", "2017"), ("month", "12")]
            ),
            "?year=2017&month=12"
        );
        assert_eq!(
            fill_template("/events/{slug}", &[("slug", "a b\"<")]),
            "/events/a%20b%22%3C"
        );
        assert_eq!(
            fill_template("/{unknown}/{slug}/{", &[("slug", "x")]),
            "/{unknown}/x/{"
        );
    }

    #[test]
    fn refuses_unsafe_urls() {
        for ok in [
            "https://www.youtube.com/@chamber",
            "http://example.org",
            "/events/x",
            "?year=2017",
            "#top",
            "events/x:y",
            "mailto:a@b.ma",
            "tel:+212524000000",
            "HTTPS://EXAMPLE.ORG",
        ] {
            assert!(is_safe_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " java\tscript:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
            "",
            "   ",
        ] {
            assert!(!is_safe_url(bad), "{bad}");
        }
    }

    #[test]
    fn directions() {
        assert_eq!(dir_of("ar"), "rtl");
        assert_eq!(dir_of("ar-MA"), "rtl");
        assert_eq!(dir_of("fr"), "ltr");
        assert_eq!(dir_of("zgh"), "ltr");
        assert_eq!(dir_of(""), "ltr");
    }
}
