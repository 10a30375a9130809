//! Place names written both ways: a reader types `Marrakech` and expects the Arabic news about
//! مراكش, and the other way round. The table holds the region's cities and provinces and
//! Morocco's large cities, one word on each side (multi-word names such as الدار البيضاء are left
//! to the words they share). Both sides go through the analyzer, so the pairs meet queries and
//! documents in their analyzed form; both backends use the same table (the embedded one expands
//! query terms, Meilisearch gets it as its `synonyms` setting).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::analyzer;

/// (Arabic, Latin spellings).
const PLACES: &[(&str, &[&str])] = &[
    ("مراكش", &["Marrakech", "Marrakesh"]),
    ("آسفي", &["Safi"]),
    ("الصويرة", &["Essaouira"]),
    ("شيشاوة", &["Chichaoua"]),
    ("الحوز", &["Haouz"]),
    ("الرحامنة", &["Rehamna"]),
    ("اليوسفية", &["Youssoufia"]),
    ("قلعة", &["Kelaa"]),
    ("فاس", &["Fès", "Fez"]),
    ("مكناس", &["Meknès"]),
    ("الرباط", &["Rabat"]),
    ("طنجة", &["Tanger", "Tangier"]),
    ("تطوان", &["Tétouan"]),
    ("أكادير", &["Agadir"]),
    ("وجدة", &["Oujda"]),
    ("الجديدة", &["Jadida"]),
    ("ورزازات", &["Ouarzazate"]),
    ("تارودانت", &["Taroudant"]),
];

/// Analyzed term → the analyzed terms it also matches.
static TABLE: LazyLock<BTreeMap<String, Vec<String>>> = LazyLock::new(|| {
    let one = |word: &str| {
        let mut tokens = analyzer::analyze(word);
        (tokens.len() == 1).then(|| tokens.remove(0).text)
    };
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (arabic, latin) in PLACES {
        let Some(a) = one(arabic) else { continue };
        let latin: Vec<String> = latin.iter().filter_map(|l| one(l)).collect();
        for (i, l) in latin.iter().enumerate() {
            let others = std::iter::once(a.clone()).chain(
                latin
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| o.clone()),
            );
            table.entry(l.clone()).or_default().extend(others);
        }
        table.entry(a).or_default().extend(latin);
    }
    for v in table.values_mut() {
        v.sort();
        v.dedup();
    }
    table
});

/// The other analyzed spellings of an analyzed term (empty for most words).
pub fn of(term: &str) -> &'static [String] {
    TABLE.get(term).map(Vec::as_slice).unwrap_or(&[])
}

/// The whole table, for a backend's settings.
pub fn table() -> &'static BTreeMap<String, Vec<String>> {
    &TABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzed(word: &str) -> String {
        analyzer::analyze(word).remove(0).text
    }

    #[test]
    fn pairs_meet_in_analyzed_form_both_ways() {
        let marrakech = analyzed("Marrakech");
        let arabic = analyzed("مراكش");
        assert!(of(&marrakech).contains(&arabic));
        assert!(of(&arabic).contains(&marrakech));
        // Written with hamza or without, with the article or not, Safi is Safi.
        assert!(of(&analyzed("Safi")).contains(&analyzed("اسفي")));
        assert!(of(&analyzed("الصويره")).contains(&analyzed("essaouira")));
        assert!(of(&analyzed("cooperative")).is_empty());
    }

    #[test]
    fn every_place_has_a_single_analyzed_word_on_each_side() {
        for (arabic, latin) in PLACES {
            assert_eq!(analyzer::analyze(arabic).len(), 1, "{arabic}");
            for l in *latin {
                assert_eq!(analyzer::analyze(l).len(), 1, "{l}");
            }
            assert!(!of(&analyzed(arabic)).is_empty(), "{arabic}");
        }
    }
}
