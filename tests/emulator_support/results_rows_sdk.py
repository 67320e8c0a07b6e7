#!/usr/bin/env python3
"""`rapidata results` rows say what the official SDK's to_pandas() says, for every task type.

    python3 results_rows_sdk.py --base-url http://127.0.0.1:PORT --client-id X \
        --client-secret Y --bin target/debug/rapidata

Applies tests/fixtures/results/every_type.yaml (a job of each of the 8 task types on
`global`) with the rapidata CLI, waits for the emulator's simulated labelers to complete
them, and runs `rapidata results --out out --rows jsonl,csv`. For each job it loads our rows
with one pandas call each (`pd.read_json(p, lines=True)`, `pd.read_csv(p)`) and the raw
document with the SDK's `RapidataResults(doc).to_pandas()`
(rapidata_client/results/rapidata_results.py), and compares datapoint by datapoint:
classify (votes per option = `count`, label = the unique top option, its share = `ratio`),
compare (winner = `winner`, its share = `A_`/`B_aggregatedResultsRatios`), ranking (score =
`<asset>_aggregatedResultsRatios`, rank from `<asset>_aggregatedResults`), and the open types
(our column = the answers of `detailedResults`). The CSV must load with the same columns
and scalar values as the JSONL. Prints one line per task type; exits 1 if any fails. Run by
.ci/interop.sh.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sdk_env  # noqa: E402,F401  (the SDK's environment, before rapidata is imported)

import pandas as pd  # noqa: E402
from rapidata.rapidata_client.results.rapidata_results import RapidataResults  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "results" / "every_type.yaml"
TYPES = ["classify", "compare", "freetext", "locate", "draw", "selectwords", "timestamp", "ranking"]
# Our column and the field of each response in detailedResults, per open task type.
OPEN = {"freetext": ("texts", "text"), "locate": ("points", "coordinates"),
        "draw": ("lines", "lines"), "selectwords": ("selectedWords", "selectedWords"),
        "timestamp": ("times", "timestamps")}


def png(seed: int) -> bytes:
    # The same bytes as the Rust tests' harness::png.
    return b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0" + f"rapidata-test-{seed}".encode()


def null(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def close(a, b) -> bool:
    if null(a) or null(b):
        return null(a) and null(b)
    return abs(float(a) - float(b)) < 1e-6


def same(a, b) -> bool:
    """Equal, floats within 1e-9 (pandas' default JSON float parser is not exact)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) < 1e-9
    return a == b


def check(kind: str, ours: pd.DataFrame, sdk: pd.DataFrame) -> None:
    base = lambda p: posixpath.basename(p) if isinstance(p, str) else p  # noqa: E731
    for _, row in ours.iterrows():
        key = row["key"]
        if kind == "classify":
            mine = sdk[sdk["originalFileName"] == base(row["asset"])]
            assert len(mine), f"{key}: no SDK rows"
            counts = dict(zip(mine["option"], mine["count"]))
            ratios = dict(zip(mine["option"], mine["ratio"]))
            for option, n in counts.items():
                assert row[f"votes_{option}"] == n, f"{key}: votes_{option} {row[f'votes_{option}']} != {n}"
            top = max(counts.values())
            winners = [o for o, n in counts.items() if n == top]
            if top > 0 and len(winners) == 1:
                assert row["label"] == winners[0], f"{key}: label {row['label']} != {winners[0]}"
                assert close(row["labelShare"], ratios[winners[0]]), f"{key}: labelShare"
            else:
                assert null(row["label"]), f"{key}: a tie has no label"
            assert row["responses"] == sum(counts.values()), f"{key}: responses"
        elif kind == "compare":
            mine = sdk[(sdk["assetA"] == base(row["asset"])) & (sdk["assetB"] == base(row["assetB"]))]
            assert len(mine) == 1, f"{key}: {len(mine)} SDK rows"
            s = mine.iloc[0]
            assert (null(row["winner"]) and null(s["winner"])) or base(row["winner"]) == s["winner"], \
                f"{key}: winner {row['winner']} != {s['winner']}"
            if not null(s["winner"]):
                side = "A" if s["winner"] == s["assetA"] else "B"
                assert close(row["winnerShare"], s[f"{side}_aggregatedResultsRatios"]), f"{key}: winnerShare"
            assert row["responses"] == s["A_aggregatedResults"] + s["B_aggregatedResults"], f"{key}: responses"
        elif kind == "ranking":
            assert len(sdk) == 1, f"{len(sdk)} SDK rows for one group"
            s = sdk.iloc[0]
            assets = [s[c] for c in sdk.columns if c.startswith("asset_")]
            name = base(row["asset"])
            assert name in assets, f"{key}: {name} not in {assets}"
            votes = {a: s[f"{a}_aggregatedResults"] for a in assets}
            rank = 1 + sum(1 for v in votes.values() if v > votes[name])
            assert row["rank"] == rank, f"{key}: rank {row['rank']} != {rank} ({votes})"
            assert close(row["score"], s[f"{name}_aggregatedResultsRatios"]), f"{key}: score"
        else:
            column, field = OPEN[kind]
            ident = row["asset"] if kind == "freetext" else base(row["asset"])
            match = "identifier" if kind == "freetext" else "originalFileName"
            mine = sdk[sdk[match] == ident]
            assert len(mine) == 1, f"{key}: {len(mine)} SDK rows"
            detailed = mine.iloc[0]["detailedResults"]
            want = [r[field] for r in detailed]
            if kind == "selectwords":
                want = [[w["word"] for w in words] for words in want]
            assert same(row[column], want), f"{key}: {column} {row[column]!r} != {want!r}"
            assert row["responses"] == len(detailed), f"{key}: responses"


def same_scalars(jsonl: pd.DataFrame, csv: pd.DataFrame) -> None:
    assert list(jsonl.columns) == list(csv.columns), f"columns {list(jsonl.columns)} != {list(csv.columns)}"
    for c in jsonl.columns:
        for a, b in zip(jsonl[c], csv[c]):
            if isinstance(a, (list, dict)):
                assert same(json.loads(b), a), f"csv {c}: {b!r} != {a!r}"
            elif null(a) or null(b):
                assert null(a) and null(b), f"csv {c}: {b!r} != {a!r}"
            elif isinstance(a, (int, float)):
                assert close(a, b), f"csv {c}: {b!r} != {a!r}"
            else:
                assert str(a) == str(b), f"csv {c}: {b!r} != {a!r}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--bin", required=True, help="the rapidata binary")
    args = ap.parse_args()
    binary = str(Path(args.bin).resolve())
    env = dict(os.environ, RAPIDATA_CLIENT_ID=args.client_id,
               RAPIDATA_CLIENT_SECRET=args.client_secret, RAPIDATA_ENDPOINT=args.base_url)
    root = Path(tempfile.mkdtemp())
    try:
        for i, f in enumerate(["a.png", "b.png", "c.png"]):
            (root / f).write_bytes(png(i + 1))
        (root / "c.mp3").write_bytes(b"ID3\x04\0\0\0\0\0\0rapidata-test-audio")
        shutil.copy(FIXTURE, root / "types.yaml")
        for cmd in (["apply", ".", "--auto-approve", "-q"],
                    ["status", ".", "--wait", "--interval", "0.3"],
                    ["results", ".", "--out", "out", "--rows", "jsonl,csv"]):
            p = subprocess.run([binary, *cmd], env=env, cwd=root, capture_output=True, text=True)
            if p.returncode != 0:
                print(f"FAIL results-rows: rapidata {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
                return 1
        failed = 0
        for kind in TYPES:
            d = root / "out" / f"job-{kind}"
            try:
                latest = json.loads((d / "index.json").read_text())["latest"]
                doc = json.loads((d / f"{latest}.json").read_text())
                ours = pd.read_json(d / "latest.jsonl", lines=True)
                sdk = RapidataResults(doc).to_pandas()
                check(kind, ours, sdk)
                same_scalars(ours, pd.read_csv(d / "latest.csv"))
                print(f"PASS results-rows {kind}: {len(ours)} rows x {len(ours.columns)} columns "
                      f"agree with the SDK's {len(sdk)} x {len(sdk.columns)}", flush=True)
            except Exception as e:  # report every type
                failed += 1
                print(f"FAIL results-rows {kind}: {type(e).__name__}: {e}", flush=True)
        print(f"{len(TYPES) - failed} passed, {failed} failed", flush=True)
        return 1 if failed else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
