//! Highlighted snippets: the words of a stored text that match the query, wrapped in `<mark>`,
//! with everything else HTML-escaped. Matching uses the same analyzer as the index, so `بالتعاونيات`
//! in a text is marked for the query `تعاونية`; the original words are what is shown.

use super::{Matching, analyzer};

/// Characters of context before the first match.
const BEFORE: usize = 60;
/// Characters of a snippet at most.
const LENGTH: usize = 240;

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Edit distance, bounded use only (short words).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether an indexed term matches a query term the way the index matched it.
pub fn matches(term: &str, query: &str, last: bool) -> bool {
    if term == query || (last && term.starts_with(query)) {
        return true;
    }
    let d = usize::from(analyzer::fuzzy_distance(query));
    if d == 0 {
        return false;
    }
    if last && term.chars().count() > query.chars().count() {
        let prefix: String = term.chars().take(query.chars().count()).collect();
        if distance(&prefix, query) <= d {
            return true;
        }
    }
    distance(term, query) <= d
}

/// A query term with what matching a document's words against it needs, computed once per
/// search rather than once per word.
struct QueryTerm<'q> {
    text: &'q str,
    last: bool,
    chars: usize,
    distance: usize,
    synonyms: &'static [String],
    /// The term without its proclitic (`بمراكش` → `مراكش`).
    variant: Option<String>,
}

impl QueryTerm<'_> {
    /// Whether an analyzed word of a text (and its proclitic reading) matches this term.
    fn matches(&self, word: &str, word_variant: Option<&str>) -> bool {
        if word == self.text || (self.last && word.starts_with(self.text)) {
            return true;
        }
        if self.synonyms.iter().any(|s| s == word) {
            return true;
        }
        // Two terms meet once a proclitic is set aside.
        if word_variant == Some(self.text)
            || self.variant.as_deref() == Some(word)
            || (word_variant.is_some() && word_variant == self.variant.as_deref())
        {
            return true;
        }
        if self.distance == 0 {
            return false;
        }
        let chars = word.chars().count();
        if self.last && chars > self.chars {
            let prefix: String = word.chars().take(self.chars).collect();
            if distance(&prefix, self.text) <= self.distance {
                return true;
            }
        }
        chars.abs_diff(self.chars) <= self.distance && distance(word, self.text) <= self.distance
    }
}

/// Bytes of text analyzed at a time: a snippet needs the words up to its window's end, not a
/// long body's every word.
const CHUNK: usize = 1024;

/// The end of the chunk of `text` that starts at `at`: the first whitespace at least [`CHUNK`]
/// bytes on (words never span whitespace, so chunks analyze as the whole text does).
fn chunk_end(text: &str, at: usize) -> usize {
    let mut i = at + CHUNK;
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i += 1;
    }
    text[i..]
        .find(char::is_whitespace)
        .map_or(text.len(), |j| i + j)
}

/// `(field, snippet)` for each text with a match, in the given order; `prefix` is the query's
/// last word unstemmed, matched as a prefix of the words as written. `matching` says which of
/// the looser readings the backend used, so that what is marked is what matched.
pub fn highlights(
    terms: &[String],
    prefix: Option<&str>,
    matching: Matching,
    texts: &[(String, String)],
) -> Vec<(String, String)> {
    let n = terms.len();
    let query: Vec<QueryTerm> = terms
        .iter()
        .enumerate()
        .map(|(i, q)| QueryTerm {
            text: q,
            last: i + 1 == n,
            chars: q.chars().count(),
            distance: if matching.typos {
                usize::from(analyzer::fuzzy_distance(q))
            } else {
                0
            },
            synonyms: super::synonyms::of(q),
            variant: analyzer::proclitic_variant(q),
        })
        .collect();
    let prefix = prefix.filter(|_| matching.prefix);
    let mut out = Vec::new();
    for (field, text) in texts {
        let mut marked: Vec<(usize, usize)> = Vec::new();
        // Where the snippet's window ends, once the first match is known.
        let mut window: Option<(usize, usize)> = None;
        let mut at = 0;
        while at < text.len() && window.is_none_or(|(_, end)| at < end) {
            let cut = chunk_end(text, at);
            for t in analyzer::analyze(&text[at..cut]) {
                let (from, to) = (at + t.offset_from, at + t.offset_to);
                let variant = analyzer::proclitic_variant(&t.text);
                if query.iter().any(|q| q.matches(&t.text, variant.as_deref()))
                    || prefix
                        .is_some_and(|p| analyzer::strip_prefixes(&text[from..to]).starts_with(p))
                {
                    marked.push((from, to));
                }
            }
            if window.is_none()
                && let Some(&(first, _)) = marked.first()
            {
                window = Some(snippet_window(text, first));
            }
            at = cut;
        }
        let Some((start, end)) = window else {
            continue;
        };
        let mut snippet = String::new();
        if start > 0 {
            snippet.push('…');
        }
        let mut at = start;
        for &(from, to) in &marked {
            if from < at || to > end {
                continue;
            }
            escape(&text[at..from], &mut snippet);
            snippet.push_str("<mark>");
            escape(&text[from..to], &mut snippet);
            snippet.push_str("</mark>");
            at = to;
        }
        escape(&text[at..end], &mut snippet);
        if end < text.len() {
            snippet.push('…');
        }
        out.push((field.clone(), snippet));
    }
    out
}

/// A window of whole characters around the first match: [`BEFORE`] characters before it,
/// [`LENGTH`] in all.
fn snippet_window(text: &str, first: usize) -> (usize, usize) {
    let start = text[..first]
        .char_indices()
        .rev()
        .nth(BEFORE.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    let end = text[start..]
        .char_indices()
        .nth(LENGTH)
        .map_or(text.len(), |(i, _)| start + i);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_original_words_and_escapes_the_rest() {
        let (terms, prefix) = super::super::query_terms("تعاونية");
        let texts = vec![(
            "body".to_owned(),
            "احتفاءا <b>باليوم</b> العالمي للتعاونيات & والتعاونيات".to_owned(),
        )];
        let h = highlights(&terms, prefix.as_deref(), Matching::ALL, &texts);
        assert_eq!(h.len(), 1);
        let s = &h[0].1;
        assert!(s.contains("<mark>للتعاونيات</mark>"), "{s}");
        assert!(s.contains("<mark>والتعاونيات</mark>"), "{s}");
        assert!(s.contains("&lt;b&gt;") && s.contains("&amp;"), "{s}");
        assert!(!s.contains("<b>"), "{s}");
    }

    #[test]
    fn the_last_word_matches_as_a_prefix_and_one_typo_is_forgiven() {
        let (terms, prefix) = super::super::query_terms("مراك");
        let h = highlights(
            &terms,
            prefix.as_deref(),
            Matching::ALL,
            &[("city".into(), "مراكش".into())],
        );
        assert_eq!(h[0].1, "<mark>مراكش</mark>");
        let (terms, prefix) = super::super::query_terms("تعاو");
        let h = highlights(
            &terms,
            prefix.as_deref(),
            Matching::ALL,
            &[("t".into(), "والتعاونيات".into())],
        );
        assert_eq!(h[0].1, "<mark>والتعاونيات</mark>");
        let (terms, prefix) = super::super::query_terms("Essaouir");
        assert!(
            !highlights(
                &terms,
                prefix.as_deref(),
                Matching::ALL,
                &[("city".into(), "Essaouira".into())]
            )
            .is_empty()
        );
        let (terms, _) = super::super::query_terms("Marakech");
        let h = highlights(
            &terms,
            None,
            Matching::ALL,
            &[("t".into(), "Marrakech".into())],
        );
        assert_eq!(h[0].1, "<mark>Marrakech</mark>");
    }

    #[test]
    fn a_match_deep_in_a_long_text_is_found_across_chunks() {
        let filler = "الصناعة التقليدية في الجهة ".repeat(80);
        let text = format!("{filler}معرض للتعاونيات {filler}");
        assert!(text.len() > 3 * CHUNK);
        let (terms, prefix) = super::super::query_terms("تعاونية");
        let h = highlights(
            &terms,
            prefix.as_deref(),
            Matching::default(),
            &[("body".into(), text.clone())],
        );
        let s = &h[0].1;
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>للتعاونيات</mark>"), "{s}");
        assert!(s.chars().count() < 300, "{s}");
    }

    #[test]
    fn typos_are_marked_only_when_the_backend_used_them() {
        let (terms, _) = super::super::query_terms("Marakech");
        let texts = [("t".to_owned(), "Marrakech".to_owned())];
        assert!(highlights(&terms, None, Matching::default(), &texts).is_empty());
        let typos = Matching {
            typos: true,
            prefix: false,
        };
        assert_eq!(
            highlights(&terms, None, typos, &texts)[0].1,
            "<mark>Marrakech</mark>"
        );
    }
}
