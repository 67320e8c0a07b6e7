//! Datapoint identity: keys and fingerprints depend on content only, never on order,
//! file names, machine or cache state.

use std::collections::BTreeMap;
use std::path::Path;

use rapidata::manifest::{load, Datapoint, LoadOptions, Resource};

const PNG_A: &[u8] = b"\x89PNG\r\n\x1a\n-first-image-bytes";
const PNG_B: &[u8] = b"\x89PNG\r\n\x1a\n-second-image-bytes";

fn header(name: &str) -> String {
    format!("apiVersion: rapidata.ai/v1\nkind: JobDefinition\nname: {name}\ntype: freeText\ninstruction: Describe\n")
}

fn datapoints(dir: &Path, cache: bool) -> BTreeMap<String, Vec<Datapoint>> {
    let opts = LoadOptions {
        no_cache: !cache,
        ..LoadOptions::default()
    };
    let p = load(&[dir.to_path_buf()], &opts).unwrap_or_else(|d| panic!("{d}"));
    p.resources
        .into_iter()
        .filter_map(|r| match r {
            Resource::JobDefinition(d) => Some((d.name, d.spec.datapoints.to_vec().unwrap())),
            _ => None,
        })
        .collect()
}

fn keyed(dps: &[Datapoint]) -> BTreeMap<String, String> {
    dps.iter()
        .map(|d| (d.key.clone(), d.fingerprint.clone()))
        .collect()
}

const ITEMS: [&str; 4] = [
    "  - asset: a.png\n    context: first\n    privateMetadata: {x: \"1\", y: \"2\"}\n",
    "  - asset: b.png\n",
    "  - asset: {text: hello}\n    group: g\n",
    "  - asset: https://example.com/c.png\n    key: explicit-c\n",
];

#[test]
fn keys_are_stable_under_reordering_renaming_and_across_runs() {
    let one = tempfile::tempdir().unwrap();
    std::fs::write(one.path().join("a.png"), PNG_A).unwrap();
    std::fs::write(one.path().join("b.png"), PNG_B).unwrap();
    std::fs::write(
        one.path().join("m.yaml"),
        format!("{}datapoints:\n{}", header("d"), ITEMS.concat()),
    )
    .unwrap();

    // Same content, other order, other file names, other metadata order, other folder.
    let two = tempfile::tempdir().unwrap();
    std::fs::create_dir(two.path().join("img")).unwrap();
    std::fs::write(two.path().join("img/renamed-second.png"), PNG_B).unwrap();
    std::fs::write(two.path().join("img/renamed-first.png"), PNG_A).unwrap();
    let reordered = [
        ITEMS[3].to_owned(),
        "  - asset: img/renamed-first.png\n    privateMetadata: {y: \"2\", x: \"1\"}\n    context: first\n".to_owned(),
        ITEMS[2].to_owned(),
        "  - asset: img/renamed-second.png\n".to_owned(),
    ];
    std::fs::write(
        two.path().join("m.yaml"),
        format!("{}datapoints:\n{}", header("d"), reordered.concat()),
    )
    .unwrap();

    let a = datapoints(one.path(), false);
    let b = datapoints(two.path(), false);
    assert_eq!(keyed(&a["d"]), keyed(&b["d"]));
    assert_eq!(a["d"].len(), 4);

    // Across runs, with the cache cold and then warm.
    let cold = datapoints(one.path(), true);
    let warm = datapoints(one.path(), true);
    assert_eq!(keyed(&cold["d"]), keyed(&a["d"]));
    assert_eq!(keyed(&warm["d"]), keyed(&a["d"]));
    assert!(one.path().join(".rapidata/cache/file-hashes.tsv").exists());

    // The explicit key keeps its fingerprint; the fingerprint keys are `fp-` + 32 hex.
    for d in &a["d"] {
        assert_eq!(d.fingerprint.len(), 64);
        if d.explicit_key {
            assert_eq!(d.key, "explicit-c");
        } else {
            assert_eq!(d.key, format!("fp-{}", &d.fingerprint[..32]));
        }
    }
}

#[test]
fn same_bytes_under_different_names_share_a_fingerprint_and_changed_bytes_do_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.png"), PNG_A).unwrap();
    std::fs::write(dir.path().join("y.png"), PNG_A).unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        format!(
            "{}datapoints:\n  - asset: x.png\n---\n{}datapoints:\n  - asset: y.png\n",
            header("one"),
            header("two")
        ),
    )
    .unwrap();
    let first = datapoints(dir.path(), true);
    assert_eq!(first["one"][0].fingerprint, first["two"][0].fingerprint);

    // Rewrite y.png with other bytes: the cache must notice (size changes too).
    std::fs::write(dir.path().join("y.png"), PNG_B).unwrap();
    let second = datapoints(dir.path(), true);
    assert_eq!(second["one"][0].fingerprint, first["one"][0].fingerprint);
    assert_ne!(second["two"][0].fingerprint, first["two"][0].fingerprint);
}

#[test]
fn fingerprint_follows_the_documented_encoding() {
    // docs/manifests.md: fields `tag, u64 LE length, payload`.
    fn field(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
        out.push(tag);
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(payload);
    }
    let mut asset = Vec::new();
    field(&mut asset, b'T', b"hello");
    let mut meta = Vec::new();
    field(&mut meta, b'K', b"a");
    field(&mut meta, b'W', b"1");
    let mut enc = Vec::new();
    field(&mut enc, b'V', b"rapidata.datapoint.v1");
    field(&mut enc, b'A', &asset);
    field(&mut enc, b'C', b"ctx");
    field(&mut enc, b'M', &meta);
    let expected = blake3::hash(&enc).to_hex().to_string();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        format!("{}datapoints:\n  - asset: {{text: hello}}\n    context: ctx\n    privateMetadata: {{a: \"1\"}}\n", header("d")),
    )
    .unwrap();
    let got = datapoints(dir.path(), false);
    assert_eq!(got["d"][0].fingerprint, expected);
}

#[test]
fn csv_and_glob_sources_resolve_with_origins_at_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/img")).unwrap();
    std::fs::write(dir.path().join("data/img/1.png"), PNG_A).unwrap();
    std::fs::write(dir.path().join("data/img/2.png"), PNG_B).unwrap();
    std::fs::write(
        dir.path().join("data/rows.csv"),
        "asset,context,meta.source,key\nimg/1.png,hello,cam,\nimg/2.png,,cam,row-two\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        format!(
            "{}datapointSources:\n  - csv: data/rows.csv\n---\n{}datapointSources:\n  - files: \"data/img/*.png\"\n",
            header("csv"),
            header("glob")
        ),
    )
    .unwrap();
    let got = datapoints(dir.path(), false);
    let csv = &got["csv"];
    assert_eq!(csv.len(), 2);
    assert!(csv[0].origin.file.ends_with("data/rows.csv"));
    assert_eq!((csv[0].origin.line, csv[1].origin.line), (2, 3));
    assert_eq!(csv[0].context.as_deref(), Some("hello"));
    assert_eq!(csv[1].context, None);
    assert_eq!(csv[1].key, "row-two");
    assert_eq!(csv[0].private_metadata["source"], "cam");
    let glob = &got["glob"];
    assert_eq!(glob.len(), 2);
    assert_eq!(glob[0].origin.line, 15);
    // Same asset bytes, but the CSV row has context and metadata: different identity.
    assert_ne!(glob[0].fingerprint, csv[0].fingerprint);
}
