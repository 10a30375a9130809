//! Slugs: derived from the `slugFrom` field when absent, Arabic kept as Arabic (without
//! diacritics or tatweel), Latin folded to lowercase ASCII, words joined with `-`.

use unicode_normalization::UnicodeNormalization;

/// Longest slug, in characters.
pub const SLUG_MAX: usize = 120;

fn is_arabic_mark(c: char) -> bool {
    // Tashkeel, Quranic marks, superscript alef, tatweel.
    matches!(c, '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' | '\u{0640}')
}

/// Turns any text into a slug. Idempotent: `slugify(slugify(s)) == slugify(s)`.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    let mut push = |c: char, out: &mut String| {
        if is_arabic_mark(c) || unicode_normalization::char::is_combining_mark(c) {
            return;
        }
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        } else {
            dash = true;
        }
    };
    for c in text.chars() {
        if matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}') {
            // Arabic letters stay as they are (hamza forms included); only marks go.
            push(c, &mut out);
        } else {
            // Latin and presentation forms: decompose, then drop accents.
            for d in std::iter::once(c).nfkd() {
                push(d, &mut out);
            }
        }
    }
    let mut s: String = out.nfc().collect();
    if s.chars().count() > SLUG_MAX {
        s = s.chars().take(SLUG_MAX).collect();
        while s.ends_with('-') {
            s.pop();
        }
    }
    s
}

/// Whether a slug sent by a client is already in slug form.
pub fn is_valid_slug(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= SLUG_MAX && slugify(s) == s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arabic_is_kept_without_diacritics() {
        assert_eq!(
            slugify("تنظيم لقاء إعلامي جهوي بمناسبة اليوم العالمي للتعاونيات"),
            "تنظيم-لقاء-إعلامي-جهوي-بمناسبة-اليوم-العالمي-للتعاونيات"
        );
        assert_eq!(slugify("مَعْرِضُ الـزّليج"), "معرض-الزليج");
        assert_eq!(slugify("ﻣﺮﺍﻛﺶ"), "مراكش");
        assert_eq!(
            slugify("Fête des Roses — Kelaat M'Gouna 2017"),
            "fete-des-roses-kelaat-m-gouna-2017"
        );
        assert_eq!(slugify("  --  "), "");
    }

    #[test]
    fn validity() {
        assert!(is_valid_slug("معرض-الزليج"));
        assert!(!is_valid_slug("Bad Slug"));
        assert!(!is_valid_slug(""));
    }

    proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,80}") {
            let once = slugify(&s);
            prop_assert_eq!(slugify(&once), once.clone());
            prop_assert!(once.chars().count() <= SLUG_MAX);
            prop_assert!(!once.starts_with('-') && !once.ends_with('-'));
        }

        #[test]
        fn arabic_letters_survive(s in "[\u{0621}-\u{063A}\u{0641}-\u{064A}]{1,30}") {
            prop_assert_eq!(slugify(&s), s.nfc().collect::<String>());
        }
    }
}
