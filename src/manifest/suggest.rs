//! "Did you mean ...?" for misspelled field names and values. A tiny Levenshtein is all
//! this needs; a dependency for it would cost more than the dozen lines below.

/// Edit distance (insert, delete, substitute) between two strings, by characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate when it is close enough to be a plausible typo: a case-only
/// difference, or at most a third of the word's length in edits (at least one).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(word) {
                0
            } else {
                levenshtein(word, c)
            };
            (d, *c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }

    #[test]
    fn suggestions() {
        let fields = ["instruction", "answerOptions", "referee", "name"];
        assert_eq!(did_you_mean("instrution", &fields), Some("instruction"));
        assert_eq!(
            did_you_mean("answeroptions", &fields),
            Some("answerOptions")
        );
        assert_eq!(did_you_mean("colour", &fields), None);
    }
}
