//! The simulated labelers: who they are (country, language, demographics) and how reliable
//! they are (`userScores.global`, also their chance of answering correctly).

use serde_json::{json, Value};

use super::draw::rng;

/// Countries labelers come from, with the language they label in.
const COUNTRIES: &[(&str, &str)] = &[
    ("US", "en"),
    ("GB", "en"),
    ("IN", "en"),
    ("PH", "en"),
    ("KE", "en"),
    ("NG", "en"),
    ("DE", "de"),
    ("AT", "de"),
    ("CH", "de"),
    ("FR", "fr"),
    ("ES", "es"),
    ("MX", "es"),
    ("BR", "pt"),
    ("IT", "it"),
    ("PL", "pl"),
    ("EG", "ar"),
    ("JP", "ja"),
];
const AGES: &[&str] = &["18-29", "30-39", "40-49", "50-64", "65+"];
const GENDERS: &[&str] = &["Female", "Male", "Other"];
const OCCUPATIONS: &[&str] = &[
    "Student",
    "Employed",
    "Self-employed",
    "Not currently working",
    "Retired",
];

/// Who may label for an audience: its top-level country and language filters (also inside an
/// `AndFilter`). Other filters do not restrict the simulated pool.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Eligibility {
    pub countries: Vec<String>,
    pub languages: Vec<String>,
}

impl Eligibility {
    pub fn from_filters(filters: &Value) -> Eligibility {
        let mut e = Eligibility::default();
        fn walk(f: &Value, e: &mut Eligibility) {
            match f.get("_t").and_then(Value::as_str) {
                Some("CountryFilter") => e.countries.extend(strings(f.get("countries"))),
                Some("LanguageFilter") => e.languages.extend(strings(f.get("languages"))),
                Some("AndFilter") => {
                    for sub in f
                        .get("filters")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        walk(sub, e);
                    }
                }
                _ => {}
            }
        }
        for f in filters.as_array().into_iter().flatten() {
            walk(f, &mut e);
        }
        e
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// One simulated labeler.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Labeler {
    pub country: String,
    pub language: String,
    /// Reliability in 0..1: the chance of answering a categorical task correctly.
    pub score: f64,
    pub age: &'static str,
    pub gender: &'static str,
    pub occupation: &'static str,
    /// Its pool (`"global"` or an audience id) and index there: who it is.
    pub pool: String,
    pub index: u64,
    /// Its accuracy on the run's validation set and the `userScores` dimensions it is reported
    /// under (`validation.rs`); `None` when the run has no validation set.
    pub measured: Option<(Vec<String>, f64)>,
}

impl Labeler {
    /// Labeler `index` of the pool `pool` (`"global"` or an audience id). `score` comes from
    /// the caller: candidates of a custom audience carry their qualification accuracy.
    pub fn new(seed: u64, pool: &str, index: u64, score: f64, who: &Eligibility) -> Labeler {
        let mut r = rng(seed, "labeler", pool, &[index]);
        let (home, mut language) = COUNTRIES[r.usize(..COUNTRIES.len())];
        let country = if who.countries.is_empty() {
            home.to_string()
        } else {
            let c = who.countries[r.usize(..who.countries.len())].clone();
            if let Some((_, l)) = COUNTRIES.iter().find(|(k, _)| *k == c) {
                language = l;
            }
            c
        };
        let language = if who.languages.is_empty() {
            language.to_string()
        } else {
            who.languages[r.usize(..who.languages.len())].clone()
        };
        Labeler {
            country,
            language,
            score,
            age: AGES[r.usize(..AGES.len())],
            gender: GENDERS[r.usize(..GENDERS.len())],
            occupation: OCCUPATIONS[r.usize(..OCCUPATIONS.len())],
            pool: pool.to_string(),
            index,
            measured: None,
        }
    }

    /// `userScores`: `global` is the labeler's reliability, unless a validation set measured
    /// it in that dimension; each dimension of the run's validation set carries the measured
    /// accuracy.
    pub fn user_scores(&self) -> serde_json::Map<String, Value> {
        let mut scores = serde_json::Map::new();
        scores.insert("global".into(), Value::from(round4(self.score)));
        if let Some((dims, acc)) = &self.measured {
            for d in dims {
                scores.insert(d.clone(), Value::from(round4(*acc)));
            }
        }
        scores
    }

    /// The weight of the labeler's votes: the mean of its `userScores` dimensions
    /// (`summedUserScores` in `understanding_the_results.md`), just its reliability without a
    /// validation set.
    pub fn weight(&self) -> f64 {
        match &self.measured {
            None => self.score,
            Some(_) => {
                let scores = self.user_scores();
                let sum: f64 = scores.values().filter_map(Value::as_f64).sum();
                sum / scores.len().max(1) as f64
            }
        }
    }

    /// `userDetails` of a response in the results document.
    pub fn details(&self) -> Value {
        json!({
            "country": self.country,
            "language": self.language,
            "userScores": self.user_scores(),
            "demographics": {"age": self.age, "gender": self.gender, "occupation": self.occupation},
        })
    }
}

/// Reliability of labeler `index` of the global pool: 0.6..0.98.
pub(crate) fn global_score(seed: u64, index: u64) -> f64 {
    0.6 + 0.38 * rng(seed, "score", "global", &[index]).f64()
}

/// Qualification accuracy of candidate `index` of a custom audience: 0.5..0.98.
pub(crate) fn candidate_accuracy(seed: u64, audience: &str, index: u64) -> f64 {
    0.5 + 0.48 * rng(seed, "candidate", audience, &[index]).f64()
}

pub(crate) fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_restrict_country_and_language() {
        let who = Eligibility::from_filters(&json!([
            {"_t": "AndFilter", "filters": [{"_t": "CountryFilter", "countries": ["DE", "AT"]}]},
            {"_t": "LanguageFilter", "languages": ["de"]}
        ]));
        for i in 0..50 {
            let l = Labeler::new(3, "a", i, 0.8, &who);
            assert!(["DE", "AT"].contains(&l.country.as_str()), "{l:?}");
            assert_eq!(l.language, "de");
        }
        let free: std::collections::BTreeSet<String> = (0..200)
            .map(|i| Labeler::new(3, "a", i, 0.8, &Eligibility::default()).country)
            .collect();
        assert!(free.len() > 5, "{free:?}");
    }
}
