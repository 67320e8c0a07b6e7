//! Manifests: the desired state, read from YAML.
//!
//! [`load`] is the one entry point: it reads manifest files, parses and checks every
//! document, resolves datapoint sources and local files (inside the manifest root only),
//! hashes files in parallel with a cache, and computes datapoint keys. It reports every
//! problem of the run at once as [`Diagnostics`].
pub mod model;
pub use model::*;

mod collect;
mod context;
mod datapoint_rules;
mod datapoint_set;
pub mod diagnostics;
mod discover;
mod documents;
mod draft;
mod examples;
pub mod files;
mod filtered;
mod filters;
mod finalize;
pub mod fingerprint;
pub mod hashing;
mod labeling;
pub mod media;
pub mod paths;
pub mod raw;
pub mod redact;
mod replay;
pub mod schema;
pub mod settings;
mod sources;
pub mod suggest;
mod validation_set;
mod yaml;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

pub use datapoint_set::{DatapointRef, Datapoints, ReplayError};
pub use diagnostics::{Diagnostic, Diagnostics};
pub use examples::fingerprint as example_fingerprint;
pub use filters::check_filter_value;
pub use hashing::HashStats;

use context::{Ctx, Loc};
use documents::{Broken, Doc, ParsedDoc};
use labeling::{labeling_raw, PendingSpec};
use raw::Located;
use suggest::did_you_mean;

/// How [`load`] treats paths and caches.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Accept local files outside the manifest root (absolute paths, `..`, symlinks).
    /// Off by default: manifests from a pull request must not read arbitrary files.
    pub allow_outside_root: bool,
    /// Where file hashes are cached; default `<root>/.rapidata/cache/`.
    pub cache_dir: Option<PathBuf>,
    /// The manifest root; default: the directory argument, or the Git repository
    /// enclosing a file argument (else its directory).
    pub root: Option<PathBuf>,
    /// Neither read nor write the hash cache (read-only checkouts, cold benchmarks).
    pub no_cache: bool,
    /// Files found in directories that match one of these (absolute) patterns are not
    /// manifests (the project config's `[manifests] exclude`).
    pub exclude: Vec<glob::Pattern>,
    /// `failureTolerance` of specs that set none (the project config's default).
    pub default_failure_tolerance: Option<f64>,
}

/// What a load did, for benchmarks and verbose output.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadStats {
    pub manifests: usize,
    pub resources: usize,
    pub datapoints: usize,
    pub hash: HashStats,
}

/// Reads, checks and resolves the manifests at `paths` (files or directories).
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Project, Diagnostics> {
    load_with_stats(paths, opts).0
}

/// [`load`], also returning counters.
pub fn load_with_stats(
    paths: &[PathBuf],
    opts: &LoadOptions,
) -> (Result<Project, Diagnostics>, LoadStats) {
    let default_paths = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default_paths[..]
    } else {
        paths
    };
    let root = opts
        .root
        .clone()
        .unwrap_or_else(|| paths::default_root(paths));
    let resolver = paths::PathResolver::new(root, opts.allow_outside_root);
    let mut ctx = Ctx::new(resolver);
    ctx.default_failure_tolerance = opts.default_failure_tolerance.unwrap_or(0.0);
    let mut stats = LoadStats::default();

    let (files, missing) = discover::manifest_files(paths, &opts.exclude);
    for (p, msg) in missing {
        let f = ctx.file_id(&p);
        ctx.error(
            Loc::new(f, 1, 1),
            msg,
            "pass an existing manifest file or directory",
        );
    }
    if files.is_empty() && ctx.diags.is_empty() {
        let f = ctx.file_id(&paths[0]);
        ctx.error(
            Loc::new(f, 1, 1),
            "no manifest files (*.yaml, *.yml) found",
            "pass a manifest file or a directory that contains manifests",
        );
    }
    stats.manifests = files.len();

    let mut docs = Vec::new();
    let mut broken = Vec::new();
    for f in &files {
        documents::read_file(&mut ctx, f, &mut docs, &mut broken);
    }

    let pending: Vec<Pending> = docs.into_iter().map(|d| build(&mut ctx, d)).collect();

    let canonical: Vec<PathBuf> = ctx.locals.iter().map(|l| l.canonical.clone()).collect();
    let cache_dir = match (&opts.cache_dir, opts.no_cache || canonical.is_empty()) {
        (_, true) => None,
        // Given on the command line: the user's choice.
        (Some(dir), false) => Some(dir.clone()),
        // In the repository: a committed `.rapidata/cache` symlink must not redirect the
        // cache (reads or writes) outside it.
        (None, false) => match files::state_dir(&ctx.paths.root, "cache") {
            Ok(dir) => Some(dir),
            Err(msg) => {
                let at = ctx.paths.root.join(".rapidata").join("cache");
                let f = ctx.file_id(&at);
                ctx.error(
                    Loc::new(f, 1, 1),
                    msg,
                    "remove it, or pass --cache-dir DIR or --no-cache",
                );
                None
            }
        },
    };
    let (results, hstats) =
        hashing::hash_files(&canonical, cache_dir.as_deref(), ctx.paths.confine());
    stats.hash = hstats;
    let hashed = finalize::check_files(&mut ctx, results);
    // What reading the datapoints again needs: the file table and the files' hashes.
    let files = std::sync::Arc::new(ctx.files.clone());
    let shared = std::sync::Arc::new(replay::ReplayShared {
        paths: ctx.paths.replaying(),
        files: files.clone(),
        hashed: ctx
            .locals
            .iter()
            .zip(&hashed)
            .filter_map(|(l, h)| Some((l.canonical.clone(), h.clone()?)))
            .collect(),
    });

    let mut resources = Vec::new();
    let mut def_locs = Vec::new();
    let mut base_locs = Vec::new();
    let mut set_locs: Vec<(usize, Loc)> = Vec::new();
    for p in pending {
        let r = match p {
            Pending::Labeling {
                kind_order,
                name,
                renamed_from,
                loc,
                spec,
                run,
                budget,
            } => {
                let Some(spec) = spec else { continue };
                let set_ref = spec.validation_set.clone();
                let spec = LabelingSpec {
                    datapoints: spec.datapoints.finish(&mut ctx, &hashed, &shared, &files),
                    task: spec.task,
                    referee: spec.referee,
                    settings: spec.settings,
                    failure_tolerance: spec.failure_tolerance,
                    prune: spec.prune,
                    validation_set: set_ref.as_ref().map(|v| v.0.clone()),
                };
                if let Some((_, l)) = &set_ref {
                    if kind_order {
                        ctx.error(
                            *l,
                            "`validationSet` is for JobDefinition manifests; an Order cannot name one",
                            "remove `validationSet:`, or make this a JobDefinition and a Job",
                        );
                    } else {
                        set_locs.push((resources.len(), *l));
                    }
                }
                stats.datapoints += spec.datapoints.len();
                let origin = ctx.origin(loc);
                if kind_order {
                    Resource::Order(Order {
                        name,
                        origin,
                        spec,
                        run,
                        budget,
                    })
                } else {
                    Resource::JobDefinition(JobDefinition {
                        name,
                        origin,
                        spec,
                        renamed_from,
                    })
                }
            }
            Pending::Audience(mut a, drafts, base_loc) => {
                a.examples = examples::finalize(&mut ctx, &hashed, drafts);
                if let Some(l) = base_loc {
                    base_locs.push((resources.len(), l));
                }
                Resource::Audience(a)
            }
            Pending::ValidationSet(s) => {
                let tasks = examples::finalize(&mut ctx, &hashed, s.drafts);
                Resource::ValidationSet(ValidationSet {
                    name: s.name,
                    origin: ctx.origin(s.loc),
                    tasks,
                    dimensions: s.dimensions,
                    should_alert: s.should_alert,
                    prune: s.prune,
                })
            }
            Pending::Job(j, l, after) => {
                def_locs.push((resources.len(), l, after));
                Resource::Job(j)
            }
        };
        resources.push(r);
    }
    cross_check(&mut ctx, &mut resources, &def_locs, &broken);
    filtered::resolve(&mut ctx, &mut resources, &base_locs);
    validation_set::check_refs(&mut ctx, &resources, &set_locs);
    stats.resources = resources.len();

    let texts = std::mem::take(&mut ctx.texts);
    let mut diags = ctx.diags;
    if diags.is_empty() {
        (
            Ok(Project {
                root: ctx.paths.root_canonical,
                resources,
            }),
            stats,
        )
    } else {
        diags.finish(&texts);
        (Err(diags), stats)
    }
}

enum Pending {
    Labeling {
        kind_order: bool,
        name: String,
        renamed_from: Vec<String>,
        loc: Loc,
        spec: Option<Box<PendingSpec>>,
        run: bool,
        budget: Option<f64>,
    },
    /// An audience whose examples wait for their files' hashes, and the location of its
    /// `base:` (a filtered audience).
    Audience(Audience, Vec<examples::ExampleDraft>, Option<Loc>),
    /// A validation set whose tasks wait for their files' hashes.
    ValidationSet(validation_set::PendingSet),
    /// A job, the location of its `definition:` value and of its `runAfter:` value.
    Job(Job, Loc, Option<Loc>),
}

/// A budget is an amount of money: finite and not negative.
fn check_budget(ctx: &mut Ctx, file: u32, budget: Option<&Located<f64>>) -> Option<f64> {
    let b = budget?;
    if b.value.is_finite() && b.value >= 0.0 {
        Some(b.value)
    } else {
        ctx.error(
            at(file, b),
            format!("`budget` {} is not an amount", b.value),
            "give the maximum estimated cost as a number, such as 25 or 12.50",
        );
        None
    }
}

fn at<T>(file: u32, l: &Located<T>) -> Loc {
    Loc::new(file, l.line, l.column)
}

/// Longest resource name (characters). Names become remote names (`<name>_dataset`),
/// markers and file names of reports; 66,000 characters passed validate and broke plan.
pub const MAX_NAME_CHARS: usize = 200;

/// `renamedFrom`: names checked like `name`, none equal to it.
fn renamed_from(
    ctx: &mut Ctx,
    file: u32,
    name: &Located<String>,
    from: Option<Located<raw::RawNames>>,
) -> Vec<String> {
    let Some(from) = from else {
        return Vec::new();
    };
    let loc = at(file, &from);
    let (line, column) = (from.line, from.column);
    let names = from.value.into_vec();
    for n in &names {
        let located = Located {
            value: n.clone(),
            line,
            column,
        };
        check_name(ctx, file, &located);
        if *n == name.value {
            ctx.error(
                loc,
                format!("`renamedFrom` names `{n}`, the resource's own name"),
                "list only the names it had before",
            );
        }
    }
    names
}

fn check_name(ctx: &mut Ctx, file: u32, name: &Located<String>) {
    if name.value.trim().is_empty() {
        ctx.error(
            at(file, name),
            "`name` is empty",
            "give the resource a unique name",
        );
    }
    let n = name.value.chars().count();
    if n > MAX_NAME_CHARS {
        ctx.error(
            at(file, name),
            format!("`name` is {n} characters long; at most {MAX_NAME_CHARS} are allowed"),
            "use a shorter name",
        );
    }
    if name.value.chars().any(char::is_control) {
        ctx.error(
            at(file, name),
            "`name` contains a control character (newline, tab, ...)",
            "names are one line of printable text",
        );
    }
}

fn build(ctx: &mut Ctx, d: ParsedDoc) -> Pending {
    let ParsedDoc {
        file,
        base_dir,
        doc,
    } = d;
    match doc {
        Doc::JobDefinition(r) => {
            check_name(ctx, file, &r.name);
            let loc = at(file, &r.kind);
            let name = r.name.value.clone();
            let renamed_from = renamed_from(ctx, file, &r.name, r.renamed_from.clone());
            let spec = labeling::build(ctx, file, &base_dir, labeling_raw!(r)).map(Box::new);
            Pending::Labeling {
                kind_order: false,
                name,
                renamed_from,
                loc,
                spec,
                run: false,
                budget: None,
            }
        }
        Doc::Order(r) => {
            check_name(ctx, file, &r.name);
            let loc = at(file, &r.kind);
            let name = r.name.value.clone();
            let run = r.run.unwrap_or(false);
            let budget = check_budget(ctx, file, r.budget.as_ref());
            let spec = labeling::build(ctx, file, &base_dir, labeling_raw!(r)).map(Box::new);
            Pending::Labeling {
                kind_order: true,
                name,
                renamed_from: Vec::new(),
                loc,
                spec,
                run,
                budget,
            }
        }
        Doc::ValidationSet(r) => {
            check_name(ctx, file, &r.name);
            Pending::ValidationSet(validation_set::lower(ctx, file, &base_dir, r))
        }
        Doc::Job(r) => {
            check_name(ctx, file, &r.name);
            if let Some(rev) = &r.revision {
                if rev.value == 0 {
                    ctx.error(
                        at(file, rev),
                        "`revision` must be at least 1",
                        "revisions are numbered from 1; remove `revision` to follow the latest",
                    );
                }
            }
            let def_loc = at(file, &r.definition);
            let budget = check_budget(ctx, file, r.budget.as_ref());
            let renamed_from = renamed_from(ctx, file, &r.name, r.renamed_from.clone());
            let job = Job {
                name: r.name.value,
                origin: ctx.origin(at(file, &r.kind)),
                definition: r.definition.value,
                // Resolved against Audience manifests in `cross_check`.
                audience: AudienceRef::Id(r.audience.value),
                revision: r.revision.map(|v| v.value),
                paused: r.paused.unwrap_or(false),
                run_after: r.run_after.as_ref().map(|v| v.value.clone()),
                on_replace: r.on_replace.map(|v| v.value).unwrap_or_default(),
                budget,
                renamed_from,
            };
            if let Some(after) = &r.run_after {
                if after.value == job.name {
                    ctx.error(
                        at(file, after),
                        "a Job cannot run after itself",
                        "name another Job manifest, or remove `runAfter`",
                    );
                }
            }
            let after_loc = r.run_after.as_ref().map(|a| at(file, a));
            Pending::Job(job, def_loc, after_loc)
        }
        Doc::Audience(r) => {
            check_name(ctx, file, &r.name);
            let renamed_from = renamed_from(ctx, file, &r.name, r.renamed_from.clone());
            let base = filtered::check(ctx, file, &r);
            let filters: Vec<serde_json::Value> = r
                .filters
                .unwrap_or_default()
                .iter()
                .filter_map(|f| filters::check_filter(ctx, file, f))
                .collect();
            let admission = r.admission.as_ref().and_then(|a| admission(ctx, file, a));
            let drafts = examples::drafts(
                ctx,
                file,
                &base_dir,
                r.examples.unwrap_or_default(),
                r.example_sources.unwrap_or_default(),
            );
            Pending::Audience(
                Audience {
                    name: r.name.value,
                    origin: ctx.origin(at(file, &r.kind)),
                    description: r.description,
                    base: base.as_ref().map(|b| b.0.clone()),
                    filters,
                    admission,
                    recruit: r.recruit.is_none_or(|v| v.value),
                    prune: r.prune.unwrap_or(false),
                    examples: Vec::new(),
                    renamed_from,
                },
                drafts,
                base.map(|b| b.1),
            )
        }
    }
}

/// `admission:`: the graduation rule `TaskAccuracy` (targetAccuracy within 0..1, at least
/// one task, `maxTasks` not below `minTasks`).
fn admission(ctx: &mut Ctx, file: u32, a: &Located<raw::RawAdmission>) -> Option<Admission> {
    let v = &a.value;
    let mut ok = true;
    if !(0.0..=1.0).contains(&v.target_accuracy.value) {
        ctx.error(
            at(file, &v.target_accuracy),
            format!(
                "`targetAccuracy` {} is outside 0..1",
                v.target_accuracy.value
            ),
            "use a share of right answers such as 0.8",
        );
        ok = false;
    }
    if v.min_tasks.value == 0 {
        ctx.error(
            at(file, &v.min_tasks),
            "`minTasks` must be at least 1",
            "labelers answer this many qualification tasks before their accuracy counts",
        );
        ok = false;
    }
    if let Some(m) = &v.max_tasks {
        if m.value < v.min_tasks.value {
            ctx.error(
                at(file, m),
                format!(
                    "`maxTasks` ({}) is below `minTasks` ({})",
                    m.value, v.min_tasks.value
                ),
                "maxTasks must be at least minTasks, or remove it",
            );
            ok = false;
        }
    }
    ok.then_some(Admission {
        target_accuracy: v.target_accuracy.value,
        min_tasks: v.min_tasks.value,
        max_tasks: v.max_tasks.as_ref().map(|m| m.value),
    })
}

/// Rules across resources: unique names per kind, job references, audience refs.
fn cross_check(
    ctx: &mut Ctx,
    resources: &mut [Resource],
    def_locs: &[(usize, Loc, Option<Loc>)],
    broken: &[Broken],
) {
    let mut seen: HashMap<(ResourceKind, String), Origin> = HashMap::new();
    for r in resources.iter() {
        let key = (r.kind(), r.name().to_owned());
        if let Some(first) = seen.get(&key) {
            let o = r.origin().clone();
            ctx.diags.push(Diagnostic {
                file: o.file.to_path_buf(),
                line: o.line,
                column: o.column,
                message: format!(
                    "duplicate {} name `{}` (first defined at {first})",
                    r.kind(),
                    r.name()
                ),
                help: Some(format!(
                    "names must be unique per kind; rename one of the {}s",
                    r.kind()
                )),
                source_line: None,
                excerpt_start: 0,
            });
        } else {
            seen.insert(key, r.origin().clone());
        }
    }
    let names = |kind: ResourceKind| -> HashSet<String> {
        resources
            .iter()
            .filter(|r| r.kind() == kind)
            .map(|r| r.name().to_owned())
            .chain(
                broken
                    .iter()
                    .filter(|b| b.kind == kind)
                    .map(|b| b.name.clone()),
            )
            .collect()
    };
    let definitions = names(ResourceKind::JobDefinition);
    let orders = names(ResourceKind::Order);
    let audiences = names(ResourceKind::Audience);
    let def_list: Vec<&str> = definitions.iter().map(String::as_str).collect();
    let jobs = names(ResourceKind::Job);
    let job_list: Vec<&str> = jobs.iter().map(String::as_str).collect();
    for (i, def_loc, after_loc) in def_locs {
        let Some(Resource::Job(job)) = resources.get_mut(*i) else {
            continue;
        };
        if let (Some(after), Some(loc)) = (&job.run_after, after_loc) {
            if !jobs.contains(after) {
                let help = match did_you_mean(after, &job_list) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "name a Job manifest of this project".to_owned(),
                };
                let msg = format!(
                    "Job `{}` runs after Job `{after}`, which no manifest defines",
                    job.name
                );
                ctx.error(*loc, msg, help);
            }
        }
        if !definitions.contains(&job.definition) {
            let help = if orders.contains(&job.definition) {
                format!(
                    "`{}` is an Order; a Job runs a JobDefinition",
                    job.definition
                )
            } else if let Some(s) = did_you_mean(&job.definition, &def_list) {
                format!("did you mean `{s}`?")
            } else {
                "add a JobDefinition manifest with this name, or fix the name".to_owned()
            };
            let msg = format!(
                "Job `{}` refers to JobDefinition `{}`, which no manifest defines",
                job.name, job.definition
            );
            ctx.error(*def_loc, msg, help);
        }
        if let AudienceRef::Id(a) = &job.audience {
            if audiences.contains(a) {
                job.audience = AudienceRef::Manifest(a.clone());
            }
        }
    }
}
