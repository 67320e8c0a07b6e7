//! Filtered audiences (`base:` on an Audience): a view on a base audience's graduates made
//! with `POST /audience/{baseAudienceId}/filter` (`rapidata_client/audience/rapidata_audience.py`
//! `filter`). It reuses the base's qualified labelers, so it has no examples, admission bar
//! or recruiting of its own (`rapidata_filtered_audience.py` has none of those methods);
//! validate says so at the line that gives one.

use std::collections::HashSet;

use super::context::{Ctx, Loc};
use super::model::{AudienceRef, Resource};
use super::raw::{Located, RawAudience};

fn at<T>(file: u32, l: &Located<T>) -> Loc {
    Loc::new(file, l.line, l.column)
}

/// The checks on a filtered audience's own fields; its `base` (resolved against Audience
/// manifests in [`resolve`]) and the location of `base:`.
pub fn check(ctx: &mut Ctx, file: u32, r: &RawAudience) -> Option<(AudienceRef, Loc)> {
    let base = r.base.as_ref()?;
    let bloc = at(file, base);
    let not_own = |what: &str| {
        format!(
            "a filtered audience (`base: {}`) has no {what} of its own: it reuses the graduates of its base",
            base.value
        )
    };
    if let Some(e) = r.examples.as_ref().and_then(|v| v.first()) {
        ctx.error(
            at(file, e),
            not_own("qualification examples"),
            format!(
                "remove `examples:`, or give them to the base audience `{}`",
                base.value
            ),
        );
    }
    if let Some(s) = r.example_sources.as_ref().and_then(|v| v.first()) {
        ctx.error(
            at(file, s),
            not_own("qualification examples"),
            "remove `exampleSources:`, or give them to the base audience",
        );
    }
    if let Some(a) = &r.admission {
        ctx.error(
            at(file, a),
            not_own("admission bar"),
            "remove `admission:`; the base audience's graduation rule applies",
        );
    }
    if let Some(rc) = &r.recruit {
        ctx.error(
            at(file, rc),
            not_own("recruiting"),
            "remove `recruit:`; recruiting happens on the base audience",
        );
    }
    if base.value.trim().is_empty() {
        ctx.error(
            bloc,
            "`base` is empty",
            "name an Audience manifest, or a remote audience id such as `global`",
        );
    }
    if r.filters.as_ref().is_none_or(Vec::is_empty) {
        ctx.error(
            bloc,
            "a filtered audience needs `filters` (at least one)",
            "add e.g. `filters: [{_t: CountryFilter, countries: [DE]}]`, or remove `base:` for a custom audience",
        );
    }
    Some((AudienceRef::Id(base.value.clone()), bloc))
}

/// Resolves each filtered audience's `base` against the Audience manifests (like a Job's
/// `audience`): a manifest name becomes [`AudienceRef::Manifest`]. A base that is itself
/// filtered, or the audience itself, is an error (the API refuses to filter a filtered
/// audience).
pub fn resolve(ctx: &mut Ctx, resources: &mut [Resource], base_locs: &[(usize, Loc)]) {
    let filtered: HashSet<String> = resources
        .iter()
        .filter_map(|r| match r {
            Resource::Audience(a) if a.base.is_some() => Some(a.name.clone()),
            _ => None,
        })
        .collect();
    let audiences: HashSet<String> = resources
        .iter()
        .filter_map(|r| match r {
            Resource::Audience(a) => Some(a.name.clone()),
            _ => None,
        })
        .collect();
    for (i, loc) in base_locs {
        let Some(Resource::Audience(a)) = resources.get_mut(*i) else {
            continue;
        };
        let Some(AudienceRef::Id(base)) = a.base.clone() else {
            continue;
        };
        if base == a.name {
            ctx.error(
                *loc,
                format!("Audience `{base}` cannot be its own base"),
                "name the audience whose graduates it filters",
            );
        } else if filtered.contains(&base) {
            ctx.error(
                *loc,
                format!("the base `{base}` is itself a filtered audience; the API cannot filter a filtered audience"),
                format!("use the base of `{base}` and put all filters here"),
            );
        } else if audiences.contains(&base) {
            a.base = Some(AudienceRef::Manifest(base));
        }
    }
}
