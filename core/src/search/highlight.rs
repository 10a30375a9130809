//! Highlighted snippets: the words of a stored text that match the query, wrapped in `<mark>`,
//! with everything else HTML-escaped. Matching uses the same analyzer as the index, so `بالتعاونيات`
//! in a text is marked for the query `تعاونية`; the original words are what is shown.

use super::analyzer;

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

/// Whether two analyzed terms meet once a proclitic is set aside (`بمراكش` and `مراكش`).
fn same_without_proclitic(word: &str, query: &str) -> bool {
    let (w, q) = (
        analyzer::proclitic_variant(word),
        analyzer::proclitic_variant(query),
    );
    w.as_deref() == Some(query) || q.as_deref() == Some(word) || (w.is_some() && w == q)
}

/// `(field, snippet)` for each text with a match, in the given order; `prefix` is the query's
/// last word unstemmed, matched as a prefix of the words as written.
pub fn highlights(
    terms: &[String],
    prefix: Option<&str>,
    texts: &[(String, String)],
) -> Vec<(String, String)> {
    let n = terms.len();
    let mut out = Vec::new();
    for (field, text) in texts {
        let marked: Vec<(usize, usize)> = analyzer::analyze(text)
            .into_iter()
            .filter(|t| {
                terms.iter().enumerate().any(|(i, q)| {
                    matches(&t.text, q, i + 1 == n)
                        || super::synonyms::of(q).contains(&t.text)
                        || same_without_proclitic(&t.text, q)
                }) || prefix.is_some_and(|p| {
                    analyzer::strip_prefixes(&text[t.offset_from..t.offset_to]).starts_with(p)
                })
            })
            .map(|t| (t.offset_from, t.offset_to))
            .collect();
        let Some(&(first, _)) = marked.first() else {
            continue;
        };
        // A window of whole characters around the first match.
        let start = text[..first]
            .char_indices()
            .rev()
            .nth(BEFORE.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        let end = text[start..]
            .char_indices()
            .nth(LENGTH)
            .map_or(text.len(), |(i, _)| start + i);
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
        let h = highlights(&terms, prefix.as_deref(), &texts);
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
            &[("city".into(), "مراكش".into())],
        );
        assert_eq!(h[0].1, "<mark>مراكش</mark>");
        let (terms, prefix) = super::super::query_terms("تعاو");
        let h = highlights(
            &terms,
            prefix.as_deref(),
            &[("t".into(), "والتعاونيات".into())],
        );
        assert_eq!(h[0].1, "<mark>والتعاونيات</mark>");
        let (terms, prefix) = super::super::query_terms("Essaouir");
        assert!(
            !highlights(
                &terms,
                prefix.as_deref(),
                &[("city".into(), "Essaouira".into())]
            )
            .is_empty()
        );
        let (terms, _) = super::super::query_terms("Marakech");
        let h = highlights(&terms, None, &[("t".into(), "Marrakech".into())]);
        assert_eq!(h[0].1, "<mark>Marrakech</mark>");
    }
}
