//! Widget HTML as the host returns it: ammonia's allowlist, with a one-pass fast path.
//!
//! Every uncached widget answer is sanitized, and ammonia builds an html5ever DOM of the whole
//! answer to do it: about a fifth of the server's CPU under a calendar load run, for HTML that
//! is almost always well formed and inside the allowlist already. [`FastPath`] streams over
//! such HTML once and writes what ammonia would write (the same attributes kept, the same
//! `rel` added, the same escaping); anything it is not sure the HTML parser would read the same
//! way (a tag outside a small set whose parsing has no implicit steps, an element the parser
//! would move or close by itself, a comment, an unknown entity, a control character) sends the
//! whole answer to ammonia instead. The rules come from ammonia's own builder, so the two cannot
//! drift, and a property test checks that whenever the fast path answers, ammonia's answer is
//! byte for byte the same.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Sanitizes a widget's HTML: no script, no event handlers, no `style`, no `javascript:` URLs;
/// `dir`, `lang`, `class`, `aria-*` and tables kept; links get `rel="noopener noreferrer"`.
pub fn sanitize_widget_html(html: &str) -> String {
    let s = sanitizer();
    s.fast
        .as_ref()
        .and_then(|fast| fast.clean(html))
        .unwrap_or_else(|| s.ammonia.clean(html).to_string())
}

/// The allowlist, through ammonia only (the reference the fast path is tested against).
pub fn sanitize_with_ammonia(html: &str) -> String {
    sanitizer().ammonia.clean(html).to_string()
}

/// The fast path alone: `None` where the answer goes to ammonia.
pub fn sanitize_fast(html: &str) -> Option<String> {
    sanitizer().fast.as_ref().and_then(|fast| fast.clean(html))
}

struct Sanitizer {
    ammonia: ammonia::Builder<'static>,
    fast: Option<FastPath>,
}

fn sanitizer() -> &'static Sanitizer {
    static SANITIZER: OnceLock<Sanitizer> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let ammonia = widget_builder();
        let fast = FastPath::from_builder(&ammonia);
        Sanitizer { ammonia, fast }
    })
}

fn widget_builder() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.add_tags(&[
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "caption",
        "nav",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "time",
        "span",
        "div",
    ])
    .add_generic_attributes(&["dir", "lang", "class", "id", "title", "role"])
    .add_generic_attribute_prefixes(&["aria-", "data-"])
    .add_tag_attributes("a", &["target"])
    .add_tag_attributes("td", &["colspan", "rowspan"])
    .add_tag_attributes("th", &["colspan", "rowspan", "scope"])
    .add_tag_attributes("time", &["datetime"])
    .add_tag_attributes("img", &["loading", "width", "height"]);
    b
}

/// Elements the fast path handles, with what the HTML parser does around them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Text-level elements: allowed inside `p`.
    Phrasing,
    /// Text-level and void (no content, no end tag).
    PhrasingVoid,
    /// Block elements: their start tag closes an open `p`, so they never appear inside one.
    Block,
    /// `hr`: a void block.
    BlockVoid,
    /// `h1`–`h6`: a block that also closes a heading it appears in.
    Heading,
    /// `li`: only directly inside `ul` or `ol` (elsewhere the parser closes list items).
    ListItem,
    /// `table`.
    Table,
    /// `caption`, `thead`, `tbody`, `tfoot`: only directly inside `table`.
    TablePart,
    /// `tr`: only directly inside `thead`, `tbody` or `tfoot` (else the parser adds a `tbody`).
    Row,
    /// `td`, `th`: only directly inside `tr`.
    Cell,
}

fn kind_of(tag: &str) -> Option<Kind> {
    use Kind::*;
    Some(match tag {
        "a" | "abbr" | "b" | "bdi" | "bdo" | "cite" | "code" | "data" | "del" | "dfn" | "em"
        | "i" | "ins" | "kbd" | "mark" | "q" | "s" | "samp" | "small" | "span" | "strong"
        | "sub" | "sup" | "time" | "u" | "var" => Phrasing,
        "br" | "img" | "wbr" => PhrasingVoid,
        "div" | "p" | "nav" | "section" | "article" | "aside" | "header" | "footer" | "figure"
        | "figcaption" | "blockquote" | "ul" | "ol" => Block,
        "hr" => BlockVoid,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => Heading,
        "li" => ListItem,
        "table" => Table,
        "caption" | "thead" | "tbody" | "tfoot" => TablePart,
        "tr" => Row,
        "td" | "th" => Cell,
        _ => return None,
    })
}

/// An open element on the fast path's stack.
struct Open<'h> {
    tag: &'h str,
    kind: Kind,
    /// Inside a `p` (only text-level content may follow).
    in_p: bool,
    /// Inside an `a` (a nested `a` would close the outer one).
    in_a: bool,
}

/// Deepest nesting the fast path follows; deeper answers go to ammonia.
const MAX_DEPTH: usize = 256;

struct FastPath {
    tags: HashSet<String>,
    generic: HashSet<String>,
    prefixes: Vec<String>,
    per_tag: HashMap<String, HashSet<String>>,
    schemes: HashSet<String>,
    link_rel: Option<String>,
}

impl FastPath {
    /// The fast path for a builder, or `None` when the builder uses an option the fast path
    /// does not reproduce (then ammonia does all the work).
    fn from_builder(b: &ammonia::Builder<'_>) -> Option<Self> {
        let plain = b.clone_tag_attribute_values().is_empty()
            && b.clone_set_tag_attribute_values().is_empty()
            && b.clone_allowed_classes().is_empty()
            && b.is_url_relative_pass_through()
            && b.clone_clean_content_tags()
                .iter()
                .all(|t| kind_of(t).is_none());
        if !plain {
            return None;
        }
        let owned = |s: HashSet<&str>| s.into_iter().map(str::to_owned).collect::<HashSet<_>>();
        Some(Self {
            tags: owned(b.clone_tags())
                .into_iter()
                .filter(|t| kind_of(t).is_some())
                .collect(),
            generic: owned(b.clone_generic_attributes()),
            prefixes: b
                .clone_generic_attribute_prefixes()
                .map(|p| p.into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            per_tag: b
                .clone_tag_attributes()
                .into_iter()
                .map(|(t, a)| (t.to_owned(), owned(a)))
                .collect(),
            schemes: owned(b.clone_url_schemes()),
            link_rel: b.get_link_rel().map(str::to_owned),
        })
    }

    /// What ammonia would answer for `html`, or `None` when this pass is not sure.
    fn clean(&self, html: &str) -> Option<String> {
        let mut out = String::with_capacity(html.len() + html.len() / 8);
        let mut stack: Vec<Open<'_>> = Vec::new();
        let mut attrs: Vec<(String, String)> = Vec::new();
        let bytes = html.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'<' {
                let end = memchr_lt(bytes, i);
                let in_table = stack.last().is_some_and(|o| {
                    matches!(o.kind, Kind::Table | Kind::Row)
                        || (o.kind == Kind::TablePart && o.tag != "caption")
                });
                text(&html[i..end], in_table, &mut out)?;
                i = end;
                continue;
            }
            if bytes.get(i + 1) == Some(&b'/') {
                // An end tag: must close the current element, exactly.
                let start = i + 2;
                let name_end = start
                    + bytes[start..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric())
                        .count();
                if bytes.get(name_end) != Some(&b'>') || name_end == start {
                    return None;
                }
                let open = stack.pop()?;
                if !html[start..name_end].eq_ignore_ascii_case(open.tag) {
                    return None;
                }
                out.push_str("</");
                out.push_str(open.tag);
                out.push('>');
                i = name_end + 1;
                continue;
            }
            // A start tag.
            let start = i + 1;
            if !bytes.get(start).is_some_and(u8::is_ascii_alphabetic) {
                return None;
            }
            let name_end = start
                + bytes[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .count();
            let raw_name = &html[start..name_end];
            let tag = self
                .tags
                .get(raw_name.to_ascii_lowercase().as_str())?
                .as_str();
            let kind = kind_of(tag)?;
            let (end, self_closing) = parse_attrs(html, name_end, &mut attrs)?;
            let void = matches!(kind, Kind::PhrasingVoid | Kind::BlockVoid);
            if self_closing && !void {
                return None;
            }
            let parent = stack.last();
            if !self.fits(tag, kind, parent) {
                return None;
            }
            out.push('<');
            out.push_str(tag);
            for (name, value) in &attrs {
                if self.keeps(tag, name, value) {
                    out.push(' ');
                    out.push_str(name);
                    out.push_str("=\"");
                    escape(value, true, &mut out);
                    out.push('"');
                }
            }
            if tag == "a"
                && let Some(rel) = &self.link_rel
            {
                out.push_str(" rel=\"");
                escape(rel, true, &mut out);
                out.push('"');
            }
            out.push('>');
            if !void {
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                let (in_p, in_a) = parent.map_or((false, false), |p| (p.in_p, p.in_a));
                stack.push(Open {
                    tag,
                    kind,
                    in_p: in_p || tag == "p",
                    in_a: in_a || tag == "a",
                });
            }
            i = end;
        }
        // Elements left open would be closed by the parser: not the input's own shape.
        stack.is_empty().then_some(out)
    }

    /// Whether the parser puts `tag` where it appears, without closing or adding anything.
    fn fits(&self, tag: &str, kind: Kind, parent: Option<&Open<'_>>) -> bool {
        let parent_kind = parent.map(|p| p.kind);
        if parent.is_some_and(|p| p.in_p) && !matches!(kind, Kind::Phrasing | Kind::PhrasingVoid) {
            return false;
        }
        if tag == "a" && parent.is_some_and(|p| p.in_a) {
            return false;
        }
        // Inside table structure only the next level of table structure fits; anything else
        // the parser moves out of the table ("foster parenting").
        let structural_parent = match parent {
            Some(p) => match p.kind {
                Kind::Table => Some(Kind::TablePart),
                Kind::TablePart if p.tag != "caption" => Some(Kind::Row),
                Kind::Row => Some(Kind::Cell),
                _ => None,
            },
            None => None,
        };
        match (structural_parent, kind) {
            (Some(expected), k) => k == expected,
            (None, Kind::TablePart | Kind::Row | Kind::Cell) => false,
            (None, Kind::ListItem) => parent.is_some_and(|p| p.tag == "ul" || p.tag == "ol"),
            (None, Kind::Heading) => parent_kind != Some(Kind::Heading),
            (None, _) => true,
        }
    }

    /// Ammonia's attribute rule: allowed for the tag, and a URL only with an allowed scheme
    /// (relative URLs pass).
    fn keeps(&self, tag: &str, name: &str, value: &str) -> bool {
        let allowed = self.generic.contains(name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
            || self.per_tag.get(tag).is_some_and(|a| a.contains(name));
        if !allowed {
            return false;
        }
        if name == "href" || name == "src" || (tag == "a" && name == "ping") {
            return match url::Url::parse(value) {
                Ok(url) => self.schemes.contains(url.scheme()),
                Err(url::ParseError::RelativeUrlWithoutBase) => true,
                Err(_) => false,
            };
        }
        true
    }
}

fn memchr_lt(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'<')
        .map_or(bytes.len(), |p| from + p)
}

/// Appends a text run, decoded and escaped as the serializer writes it; `None` for what the
/// parser would not keep as it is.
fn text(run: &str, in_table: bool, out: &mut String) -> Option<()> {
    decode(run, |c| {
        if in_table && !matches!(c, ' ' | '\t' | '\n') {
            return None;
        }
        escape_char(c, false, out);
        Some(())
    })
}

/// Calls `each` with the characters of `raw`, character references decoded; `None` as soon as
/// a reference is not one the fast path knows, a character is not plain, or `each` refuses.
fn decode(raw: &str, mut each: impl FnMut(char) -> Option<()>) -> Option<()> {
    let mut chars = raw.char_indices();
    while let Some((at, c)) = chars.next() {
        let c = if c == '&' {
            let (decoded, len) = entity(&raw[at..])?;
            for _ in 1..len {
                chars.next();
            }
            decoded
        } else {
            c
        };
        if !plain_char(c) {
            return None;
        }
        each(c)?;
    }
    Some(())
}

/// Characters the tokenizer passes through unchanged (no NUL, no CR, no other controls, no
/// byte-order mark).
fn plain_char(c: char) -> bool {
    !(c.is_control() && c != '\t' && c != '\n') && c != '\u{feff}'
}

/// Decodes the character reference at the start of `s` (which begins with `&`): the five
/// XML names, `nbsp` and numeric references, always with their `;`. Returns the character and
/// the reference's length in characters.
fn entity(s: &str) -> Option<(char, usize)> {
    let semi = s.bytes().take(12).position(|b| b == b';')?;
    let body = &s[1..semi];
    let c = match body {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => {
            let num = body.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()?
                }
                None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                    num.parse().ok()?
                }
                _ => return None,
            };
            // The parser replaces or remaps NUL, C1 controls, surrogates and out-of-range
            // values, and flags noncharacters: leave those to ammonia.
            let remapped = code == 0
                || (0x80..=0x9f).contains(&code)
                || (0xfdd0..=0xfdef).contains(&code)
                || code & 0xfffe == 0xfffe;
            if remapped {
                return None;
            }
            char::from_u32(code)?
        }
    };
    Some((c, semi + 1))
}

/// Reads a start tag's attributes after its name, up to and including `>`. Returns the index
/// after the tag and whether it ended in `/>`.
fn parse_attrs(
    html: &str,
    mut i: usize,
    attrs: &mut Vec<(String, String)>,
) -> Option<(usize, bool)> {
    attrs.clear();
    let bytes = html.as_bytes();
    loop {
        let ws = bytes[i..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n'))
            .count();
        i += ws;
        match bytes.get(i)? {
            b'>' => return Some((i + 1, false)),
            b'/' => return (bytes.get(i + 1) == Some(&b'>')).then_some((i + 2, true)),
            _ if ws == 0 => return None,
            _ => {}
        }
        let name_len = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        if name_len == 0 || !bytes[i].is_ascii_alphabetic() {
            return None;
        }
        let name = html[i..i + name_len].to_ascii_lowercase();
        i += name_len;
        let value = if bytes.get(i) == Some(&b'=') {
            let quote = *bytes.get(i + 1)?;
            if quote != b'"' && quote != b'\'' {
                return None;
            }
            let start = i + 2;
            let len = bytes[start..].iter().position(|&b| b == quote)?;
            i = start + len + 1;
            attr_value(&html[start..start + len])?
        } else {
            match bytes.get(i)? {
                b' ' | b'\t' | b'\n' | b'>' | b'/' => String::new(),
                _ => return None,
            }
        };
        // The tokenizer keeps the first of duplicated attributes: leave that case to ammonia.
        if attrs.iter().any(|(n, _)| *n == name) {
            return None;
        }
        attrs.push((name, value));
    }
}

/// An attribute value with its character references decoded.
fn attr_value(raw: &str) -> Option<String> {
    let mut value = String::with_capacity(raw.len());
    decode(raw, |c| {
        value.push(c);
        Some(())
    })?;
    Some(value)
}

/// html5ever's serializer escaping: `&`, `<`, `>` and no-break space, and `"` in attributes.
fn escape(s: &str, attr: bool, out: &mut String) {
    for c in s.chars() {
        escape_char(c, attr, out);
    }
}

fn escape_char(c: char, attr: bool, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '\u{a0}' => out.push_str("&nbsp;"),
        '"' if attr => out.push_str("&quot;"),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_as_ammonia(html: &str) -> Option<String> {
        let fast = sanitize_fast(html);
        if let Some(fast) = &fast {
            assert_eq!(fast, &sanitize_with_ammonia(html), "input: {html:?}");
        }
        fast
    }

    #[test]
    fn the_fast_path_is_built_from_the_widget_allowlist() {
        let s = sanitizer();
        let fast = s.fast.as_ref().expect("the widget builder has a fast path");
        assert!(fast.tags.contains("table") && fast.tags.contains("a"));
        assert!(!fast.tags.contains("script") && !fast.tags.contains("pre"));
        assert_eq!(fast.link_rel.as_deref(), Some("noopener noreferrer"));
    }

    #[test]
    fn well_formed_widget_html_takes_the_fast_path() {
        let html = "<div class=\"zc-calendar\" dir=\"rtl\" lang=\"ar\">\n\
            <nav class=\"zc-nav\" aria-label=\"التنقل\"><a class=\"zc-nav-link\" href=\"?month=2017-11\" rel=\"prev\" title=\"تشرين2/نوفمبر 2017\">◄</a> \
            <span class=\"zc-disabled\" aria-disabled=\"true\">►</span></nav>\n\
            <table class=\"zc-month\">\n<caption class=\"zc-title\">كانون1/ديسمبر 2017</caption>\n\
            <thead><tr><th scope=\"col\">الإثنين</th></tr></thead>\n<tbody>\n\
            <tr><td class=\"zc-empty\"></td><td class=\"zc-day\"><a href=\"/events/m&amp;a\" title=\"معرض &quot;الصناعة&quot; التقليدية &#39;2017&#39;\">5</a>\
            <ul class=\"zc-events\"><li><a href=\"/e/1\">أ &lt; ب</a></li></ul></td></tr>\n</tbody>\n</table>\n</div>";
        let out = same_as_ammonia(html).expect("the fast path answers");
        assert!(out.contains("rel=\"noopener noreferrer\""));
        assert!(!out.contains("rel=\"prev\""));
        assert!(out.contains("&quot;الصناعة&quot;") && out.contains("'2017'"));
    }

    #[test]
    fn hostile_or_unusual_html_goes_to_ammonia() {
        for html in [
            "<script>alert(1)</script>",
            "<p onclick=\"x()\">a</p><!-- c -->",
            "<table><tr><td>x</td></tr></table>",
            "<table>text<tbody></tbody></table>",
            "<p><div>x</div></p>",
            "<a href=\"/a\"><a href=\"/b\">x</a></a>",
            "<ul><li>a<li>b</ul>",
            "<span>open",
            "<td>cell</td>",
            "<span/>",
            "a &copy b",
            "a\0b",
            "<b title=a>x</b>",
            "<b title=\"1\" title=\"2\">x</b>",
            "<pre>\nx</pre>",
        ] {
            assert_eq!(sanitize_fast(html), None, "{html}");
            // And the public function still answers, through ammonia.
            let cleaned = sanitize_widget_html(html);
            assert!(!cleaned.contains("<script") && !cleaned.contains("onclick"));
        }
    }

    #[test]
    fn urls_follow_ammonias_scheme_rule() {
        let out = same_as_ammonia(
            "<a href=\"javascript:alert(1)\">a</a><a href=\"java&#x73;cript:x\">b</a>\
             <a href=\"https://example.ma/x?a=1&amp;b=2\">c</a><a href=\"/rel\">d</a>\
             <img src=\"data:image/png;base64,AAAA\" alt=\"x\"><a href=\"mailto:a@b.ma\">e</a>",
        )
        .expect("fast path");
        assert!(!out.contains("javascript") && !out.contains("data:"));
        assert!(out.contains("href=\"https://example.ma/x?a=1&amp;b=2\""));
        assert!(out.contains("href=\"/rel\"") && out.contains("mailto:a@b.ma"));
    }

    fn tag_name() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a", "b", "span", "div", "p", "ul", "ol", "li", "table", "caption", "thead", "tbody",
            "tfoot", "tr", "td", "th", "h2", "h3", "nav", "time", "strong", "img", "br", "hr",
            "script", "style", "pre", "dl", "dd", "iframe", "A", "TD", "section", "small",
        ])
    }

    fn attr() -> impl Strategy<Value = String> {
        attr_quoted(vec!['"', '"', '"', '"', '\'', '\'', ' '])
    }

    /// Attributes as a widget writes them: always quoted (names and values still hostile).
    fn quoted_attr() -> impl Strategy<Value = String> {
        attr_quoted(vec!['"', '"', '\''])
    }

    fn attr_quoted(quotes: Vec<char>) -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![
            "href",
            "src",
            "class",
            "title",
            "dir",
            "lang",
            "rel",
            "onclick",
            "style",
            "aria-label",
            "data-x",
            "colspan",
            "scope",
            "target",
            "alt",
            "datetime",
            "id",
            "HREF",
            "ping",
            "width",
        ]);
        let value = prop::sample::select(vec![
            "",
            "x",
            "/events/2017-12",
            "https://example.ma/a?b=1&amp;c=2",
            "javascript:alert(1)",
            "jav&#x61;script:x",
            " javascript:x",
            "vbscript:x",
            "data:text/html,x",
            "mailto:a@b.ma",
            "http://[::1",
            "//evil.example",
            "#top",
            "rtl",
            "مراكش &quot;آسفي&quot;",
            "&#39;q&#39;",
            "a\"b",
            "a<b>c",
            "&nbsp;",
            "&copy;",
            "x&y",
            "ftp://h/p",
        ]);
        let quote = prop::sample::select(quotes);
        (name, value, quote).prop_map(|(n, v, q)| match q {
            ' ' if !v.is_empty() => format!("{n}={v}"),
            ' ' => n.to_owned(),
            q => format!("{n}={q}{}{q}", v.replace(q, "")),
        })
    }

    /// Text the parser keeps as it is (entities included).
    fn clean_text() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "",
            " ",
            "\n",
            "نص عربي",
            "كانون1/ديسمبر 2017",
            "Safi",
            "a &amp; b",
            "&lt;x&gt;",
            "&#1575;",
            "&#x627;",
            "&nbsp;",
            "\u{a0}",
            "\t",
            "\"'",
            "ٱلْحِرَفِيُّونَ",
            "&apos;",
        ])
        .prop_map(str::to_owned)
    }

    /// Text the fast path leaves to ammonia (or must escape).
    fn risky_text() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "<",
            ">",
            "&",
            "&copy;",
            "&#0;",
            "&#128;",
            "\r\n",
            "&#xD800;",
            "&#65534;",
            "\u{feff}",
            "&amp",
            "\0",
            "\u{85}",
            "&#x110000;",
        ])
        .prop_map(str::to_owned)
    }

    fn text_piece() -> impl Strategy<Value = String> {
        prop_oneof![4 => clean_text(), 1 => risky_text()]
    }

    /// Random token soup: tags in any order, any attributes, any text.
    fn soup() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            (
                tag_name(),
                prop::collection::vec(attr(), 0..4),
                any::<bool>()
            )
                .prop_map(|(t, attrs, slash)| {
                    let mut s = format!("<{t}");
                    for a in attrs {
                        s.push(' ');
                        s.push_str(&a);
                    }
                    s.push_str(if slash { "/>" } else { ">" });
                    s
                }),
            tag_name().prop_map(|t| format!("</{t}>")),
            text_piece(),
            prop::sample::select(vec!["<!-- c -->", "<", "</", "<1>", "< b>", "</b >"])
                .prop_map(str::to_owned),
        ];
        prop::collection::vec(token, 0..24).prop_map(|v| v.concat())
    }

    /// Nested, balanced trees: most of these take the fast path.
    fn tree() -> impl Strategy<Value = String> {
        let leaf = text_piece();
        leaf.prop_recursive(4, 48, 5, |inner| {
            (
                tag_name(),
                prop::collection::vec(attr(), 0..3),
                prop::collection::vec(inner, 0..5),
            )
                .prop_map(|(t, attrs, kids)| {
                    let mut s = format!("<{t}");
                    for a in attrs {
                        s.push(' ');
                        s.push_str(&a);
                    }
                    s.push('>');
                    if !matches!(t, "img" | "br" | "hr") {
                        s.push_str(&kids.concat());
                        s.push_str(&format!("</{t}>"));
                    }
                    s
                })
        })
    }

    fn element(tag: &str, attrs: &[String], content: &str) -> String {
        let mut s = format!("<{tag}");
        for a in attrs {
            s.push(' ');
            s.push_str(a);
        }
        s.push('>');
        s.push_str(content);
        s.push_str(&format!("</{tag}>"));
        s
    }

    /// Text-level content: what a widget puts in a paragraph or a cell.
    fn phrasing() -> BoxedStrategy<String> {
        prop_oneof![30 => clean_text(), 1 => risky_text()]
            .prop_recursive(3, 24, 4, |inner| {
                let tag =
                    prop::sample::select(vec!["b", "span", "strong", "small", "time", "a", "em"]);
                prop_oneof![
                    (
                        tag,
                        prop::collection::vec(quoted_attr(), 0..2),
                        prop::collection::vec(inner, 0..4)
                    )
                        .prop_map(|(t, a, k)| element(t, &a, &k.concat())),
                    prop::collection::vec(quoted_attr(), 0..2).prop_map(|a| {
                        let mut s = element("img", &a, "");
                        s.truncate(s.len() - "</img>".len());
                        s
                    }),
                    Just("<br>".to_owned()),
                ]
            })
            .boxed()
    }

    /// Well-formed widget-like HTML: blocks, lists, tables and headings laid out the way the
    /// parser expects (most of it takes the fast path).
    fn widget_html() -> BoxedStrategy<String> {
        let attrs = || prop::collection::vec(quoted_attr(), 0..2);
        phrasing()
            .prop_recursive(3, 64, 4, move |inner| {
                let block = prop::sample::select(vec!["div", "section", "nav", "header", "figure"]);
                prop_oneof![
                    (block, attrs(), prop::collection::vec(inner.clone(), 0..4))
                        .prop_map(|(t, a, k)| element(t, &a, &k.concat())),
                    (attrs(), prop::collection::vec(phrasing(), 0..4)).prop_map(|(a, k)| element(
                        "p",
                        &a,
                        &k.concat()
                    )),
                    (attrs(), phrasing()).prop_map(|(a, k)| element("h2", &a, &k)),
                    (
                        attrs(),
                        prop::collection::vec((attrs(), inner.clone()), 1..4)
                    )
                        .prop_map(|(a, items)| {
                            let items: String =
                                items.iter().map(|(a, k)| element("li", a, k)).collect();
                            element("ul", &a, &items)
                        }),
                    (
                        attrs(),
                        phrasing(),
                        prop::collection::vec(
                            prop::collection::vec((attrs(), inner.clone()), 1..4),
                            1..4
                        )
                    )
                        .prop_map(|(a, caption, rows)| {
                            let rows: String = rows
                                .iter()
                                .map(|cells| {
                                    let cells: String =
                                        cells.iter().map(|(a, k)| element("td", a, k)).collect();
                                    format!("<tr>{cells}</tr>\n")
                                })
                                .collect();
                            element(
                                "table",
                                &a,
                                &format!("<caption>{caption}</caption>\n<tbody>\n{rows}</tbody>"),
                            )
                        }),
                ]
            })
            .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn the_fast_path_answers_exactly_what_ammonia_answers(
            html in prop_oneof![soup(), tree(), widget_html()]
        ) {
            same_as_ammonia(&html);
        }
    }

    /// The generators must reach the fast path often, or the property above proves little.
    #[test]
    fn the_property_test_exercises_the_fast_path() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let (mut fast, mut total) = (0, 0);
        for _ in 0..2000 {
            let html = widget_html()
                .new_tree(&mut runner)
                .expect("a tree")
                .current();
            total += 1;
            if same_as_ammonia(&html).is_some() {
                fast += 1;
            }
        }
        assert!(
            fast * 2 > total,
            "only {fast} of {total} generated trees took the fast path"
        );
    }
}
