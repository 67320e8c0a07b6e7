//! `settings:` (feature flags): the value checks of the SDK's typed setting classes
//! (`rapidata_client/settings/*.py`), applied to the flags those classes send. Every other
//! key passes as it is, as the SDK's `CustomSetting` does.

use std::collections::BTreeMap;

use super::context::{Ctx, Loc};
use super::raw::Located;

/// A flag the SDK sends from a typed setting with a checked whole-number value.
struct Range {
    key: &'static str,
    /// The SDK class and the file its check is in.
    sdk: &'static str,
    min: i64,
    max: Option<i64>,
}

/// Each SDK setting class whose constructor raises `ValueError` on its value.
const RANGES: &[Range] = &[
    Range {
        key: "free_text_minimum_characters",
        sdk: "FreeTextMinimumCharactersSetting (settings/free_text_minimum_characters.py)",
        min: 1,
        max: None,
    },
    Range {
        key: "free_text_max_characters",
        sdk: "FreeTextMaxCharactersSetting (settings/free_text_max_characters.py)",
        min: 1,
        max: None,
    },
    Range {
        key: "compare_unsure",
        sdk: "AllowNeitherBothSetting (settings/allow_neither_both.py)",
        min: 0,
        max: None,
    },
    Range {
        key: "locate_max_points",
        sdk: "LocateMaxPointsSetting (settings/locate_max_points.py)",
        min: 1,
        max: None,
    },
    Range {
        key: "locate_min_points",
        sdk: "LocateMinPointsSetting (settings/locate_min_points.py)",
        min: 1,
        max: None,
    },
    Range {
        key: "media_played_percentage",
        sdk: "PlayPercentageVideoSetting (settings/play_percentage_video.py)",
        min: 0,
        max: Some(95),
    },
];

/// The keys whose values are checked, for the docs and tests.
pub fn checked_keys() -> impl Iterator<Item = &'static str> {
    RANGES.iter().map(|r| r.key)
}

/// Checks every value the SDK would refuse and returns the flags as sent.
pub fn check(
    ctx: &mut Ctx,
    file: u32,
    settings: BTreeMap<String, Located<String>>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, v) in settings {
        if let Some(r) = RANGES.iter().find(|r| r.key == key) {
            let loc = Loc::new(file, v.line, v.column);
            let bounds = match r.max {
                Some(max) => format!("{} to {max}", r.min),
                None => format!("at least {}", r.min),
            };
            match v.value.parse::<i64>() {
                Ok(n) if n >= r.min && r.max.is_none_or(|m| n <= m) => {}
                Ok(n) => ctx.error(
                    loc,
                    format!("setting `{key}` is {n}; the SDK takes {bounds}"),
                    format!("use a whole number {bounds} (the SDK's {})", r.sdk),
                ),
                Err(_) => ctx.error(
                    loc,
                    format!("setting `{key}` is `{}`, not a whole number", v.value),
                    format!(
                        "write a whole number {bounds}, e.g. `{key}: \"{}\"` (the SDK's {})",
                        r.min.max(1),
                        r.sdk
                    ),
                ),
            }
        }
        out.insert(key, v.value);
    }
    out
}
