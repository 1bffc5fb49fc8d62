//! Name normalisation for search across scripts. A Kazakh name is written in Cyrillic
//! ("Жыланбаев"), in Russian-style transliteration ("Zhylanbaev"), in the 2021 Kazakh Latin
//! alphabet ("Jylanbaev") and in English press spellings ("Zhylanbayev"); all must meet.
//!
//! Two keys per word:
//! - `fold`: lower case, diacritics removed, same script (exact and prefix matches rank first);
//! - `skeleton`: transliterated to ASCII by `deunicode` (a maintained crate with tables for
//!   Cyrillic and Latin diacritics), then folded further by our own rules for the variants that
//!   transliteration systems disagree on (zh/j/ž, kh/h, ts/c, yu/iu/ju, ya/ia/ja, y/i, q/k…).
//!   Those rules are ours because no crate knows Kazakh press conventions.

use deunicode::deunicode;

/// Lower case with diacritics removed, in the word's own script: "Жыланбаев" → "жыланбаев".
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            // Kazakh letters keep their identity in the folded key (ә is not а to a Kazakh reader)…
            'ё' => out.push('е'),
            'й' => out.push('и'),
            c if c.is_alphanumeric() => {
                // …but Latin diacritics fold: "Žylanbaev" → "zylanbaev".
                if c.is_ascii() || is_cyrillic(c) {
                    out.push(c);
                } else {
                    out.push_str(&deunicode(&c.to_string()).to_lowercase());
                }
            }
            _ => {}
        }
    }
    out
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// Letters that transliteration tables treat inconsistently (Kazakh and Russian Cyrillic, Latin
/// letters with háček or cedilla), mapped by us before `deunicode` sees the rest.
fn kazakh_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ә' => "a",
        'ғ' => "g",
        'қ' => "k",
        'ң' => "n",
        'ө' => "o",
        'ұ' | 'ү' => "u",
        'һ' => "h",
        'і' => "i",
        'ы' => "y",
        'ж' => "zh",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "sh",
        'ю' => "yu",
        'я' => "ya",
        'е' => "e",
        'ё' => "yo",
        'й' => "y",
        'ъ' | 'ь' => "",
        // Latin letters with diacritics whose plain form would lose a sound.
        'ž' => "zh",
        'š' | 'ş' => "sh",
        'č' | 'ç' => "ch",
        'ı' => "y",
        _ => return None,
    })
}

/// Russian-style Latin transliteration of a Cyrillic word, as the press writes names:
/// "Жыланбаев" → "Zhylanbaev". Latin input comes back unchanged.
pub fn transliterate(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 4);
    for (i, c) in word.chars().enumerate() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let piece = match kazakh_letter(lower) {
            Some(s) => s.to_string(),
            None if lower.is_ascii() => lower.to_string(),
            None => deunicode(&lower.to_string()).to_lowercase(),
        };
        if i == 0 || c.is_uppercase() {
            let mut chars = piece.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(&piece);
        }
    }
    out
}

/// The script-independent key: "Жыланбаев", "Zhylanbaev", "Jylanbaev", "Zhylanbayev" → "jilanbaev".
pub fn skeleton(word: &str) -> String {
    let mut latin = String::with_capacity(word.len() + 4);
    for c in word.chars().flat_map(char::to_lowercase) {
        if let Some(s) = kazakh_letter(c) {
            latin.push_str(s);
        } else if c.is_ascii_alphanumeric() {
            latin.push(c);
        } else if c.is_alphanumeric() {
            latin.push_str(&deunicode(&c.to_string()).to_lowercase());
        }
    }
    // Digraphs first, longest first; then single letters.
    const RULES: [(&str, &str); 19] = [
        ("shch", "s"),
        ("dzh", "j"),
        ("zh", "j"),
        ("kh", "h"),
        ("tsh", "c"),
        ("ts", "c"),
        ("tc", "c"),
        ("ch", "c"),
        ("sh", "s"),
        ("yu", "u"),
        ("iu", "u"),
        ("ju", "u"),
        ("ya", "a"),
        ("ia", "a"),
        ("ja", "a"),
        ("ye", "e"),
        ("ie", "e"),
        ("je", "e"),
        ("yo", "o"),
    ];
    let mut s = latin;
    for (from, to) in RULES {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut previous = None;
    let mut dropped = false;
    for c in s.chars() {
        let mapped = match c {
            'y' => 'i',
            'q' => 'k',
            'w' => 'v',
            'x' => 'h',
            c => c,
        };
        // A doubled letter collapses: "Nurpeissov" and "Nurpeisov" meet. Only one letter of a
        // run is dropped: collapsing whole runs made "xxxxxxxxxx" the skeleton "h", a prefix of
        // every name that starts with h (Khan, Khalikov…), so it found them all as transliterated.
        let repeated = previous == Some(mapped) && mapped.is_ascii_alphabetic();
        previous = Some(mapped);
        if repeated && !dropped {
            dropped = true;
            continue;
        }
        if !repeated {
            dropped = false;
        }
        out.push(mapped);
    }
    out
}

/// Words of a text, split on anything that is not a letter or digit.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// Edit distance at most one (insert, delete or substitute), on chars.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < short.len() && j < long.len() {
        if short[i] == long[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        if short.len() == long.len() {
            i += 1;
        }
        j += 1;
    }
    edits + (long.len() - j) + (short.len() - i) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_meet() {
        let key = skeleton("Жыланбаев");
        for spelling in ["Zhylanbaev", "Jylanbaev", "Zhylanbayev", "ЖЫЛАНБАЕВ", "Žylanbaev"] {
            assert_eq!(skeleton(spelling), key, "{spelling}");
        }
        assert_eq!(skeleton("Нурпеисов"), skeleton("Nurpeissov"));
        // A run of one letter is not a name: it keeps all but one of its letters.
        assert_eq!(skeleton("xxxxxxxxxx"), "hhhhhhhhh");
        assert_eq!(skeleton("aaa"), "aa");
        assert_eq!(skeleton("Тлеужан"), skeleton("Tleuzhan"));
        assert_eq!(skeleton("Қалас"), skeleton("Kalas"));
        assert_eq!(skeleton("Иманғалиева"), skeleton("Imangalieva"));
        assert_ne!(skeleton("Абишев"), skeleton("Жыланбаев"));
    }

    #[test]
    fn folding_keeps_the_script_and_drops_case() {
        assert_eq!(fold("ЖЫЛАНБАЕВ"), "жыланбаев");
        assert_eq!(fold("Zhylanbaev"), "zhylanbaev");
        assert_eq!(fold("Şyñğys"), "syngys");
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit("jilanbaev", "jilanbav"));
        assert!(within_one_edit("jilanbaev", "jilanbaiev"));
        assert!(within_one_edit("jilanbaev", "jilanbaeb"));
        assert!(!within_one_edit("jilanbaev", "jlanbaeb"));
    }
}
