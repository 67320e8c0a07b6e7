#!/usr/bin/env python3
"""What the official SDK makes, `rapidata import` writes as manifests that plan no change.

    python3 import_sdk.py --base-url http://127.0.0.1:PORT --client-id X --client-secret Y \
        --bin target/debug/rapidata

With the official SDK 3.27.1 (pointed at the emulator as sdk_conformance.py does), creates
job definitions of every type `client.job.create_*_job_definition` offers (classification
with contexts and private metadata, compare with a quorum, free text from text with a
setting, locate, draw, select words, ranking), an audience with filters, an admission bar
and qualification examples (classification, compare, locate, select words) with recruiting
started, and jobs (one on the audience, one on `global`, paused). Then, with the rapidata
CLI: `import --out` writes them, `plan --detailed-exitcode` on the directory exits 0, and
an edit of two imported manifests (an instruction, one more datapoint row) plans exactly
those two changes (`--detailed-exitcode` exits 2, the JSON plan names only them). Exits 1
on any mismatch. Run by .ci/interop.sh.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sdk_env  # noqa: E402,F401  (the SDK's environment, before rapidata is imported)

from sdk_conformance import Recorder, install_redirect, write_png  # noqa: E402


def run(cmd: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--bin", required=True, help="the rapidata binary")
    ap.add_argument("--environment", default="rapidata.emulator")
    args = ap.parse_args()
    args.bin = str(Path(args.bin).resolve())  # the CLI runs in the project directory

    install_redirect(args.base_url, args.environment, Recorder())
    from rapidata import (Box, CountryFilter, FreeTextMinimumCharactersSetting, LanguageFilter,
                          NotFilter, RapidataClient)

    client = RapidataClient(client_id=args.client_id, client_secret=args.client_secret,
                            environment=args.environment)
    tag = f"imp{os.getpid()}"
    tmp = Path(tempfile.mkdtemp())
    img = [str(write_png(tmp / f"img{i}.png")) for i in range(6)]
    name = lambda kind: f"{tag}-{kind}"  # noqa: E731

    # Job definitions of every public type, as a team would make them with the SDK.
    jobs = client.job
    classify = jobs.create_classification_job_definition(
        name=name("classify"), instruction="Which animal is it?", answer_options=["cat", "dog"],
        datapoints=img[:2], contexts=["Look at the ears.", "Look at the tail."],
        responses_per_datapoint=3, private_metadata=[{"id": "a-1"}, {"id": "a-2"}])
    compare = jobs.create_compare_job_definition(
        name=name("compare"), instruction="Which is sharper?", datapoints=[img[0:2], img[2:4]],
        responses_per_datapoint=3, quorum_threshold=2)
    jobs.create_free_text_job_definition(
        name=name("freetext"), instruction="Describe the weather",
        datapoints=["a sunny day at the beach", "rain in the mountains"], data_type="text",
        responses_per_datapoint=2, settings=[FreeTextMinimumCharactersSetting(5)])
    jobs.create_locate_job_definition(name=name("locate"), instruction="Tap the cat",
                                      datapoints=[img[0]])
    jobs.create_draw_job_definition(name=name("draw"), instruction="Trace the road",
                                    datapoints=[img[1]])
    jobs.create_select_words_job_definition(
        name=name("selectwords"), instruction="Select the animals", datapoints=[img[2]],
        sentences=["the cat and the dog"])
    jobs.create_ranking_job_definition(
        name=name("ranking"), instruction="Which is cuter?", datapoints=[img[0:3], img[3:5]],
        comparison_budget_per_ranking=10)
    definitions = 7

    # An audience with filters, an admission bar and qualification examples.
    audience = client.audience.create_audience(
        name=name("audience"), filters=[LanguageFilter(["de"]), NotFilter(CountryFilter(["US"]))],
        target_accuracy=0.8, min_tasks=4, max_tasks=20)
    audience.add_classification_example(
        instruction="Is it positive?", answer_options=["yes", "no"], datapoint="I love it",
        truth=["yes"], data_type="text", explanation="It says love.")
    audience.add_compare_example(instruction="Which is sharper?", truth=img[1],
                                 datapoint=[img[0], img[1]])
    audience.add_locate_example(instruction="Tap the cat", datapoint=img[5],
                                truths=[Box(x_min=0.1, y_min=0.2, x_max=0.5, y_max=0.6)])
    audience.add_select_words_example(instruction="Select the animals", datapoint=img[5],
                                      sentence="cat and dog", truths=[0, 2])
    audience.start_recruiting()

    # Jobs: one on the audience, one on `global`, paused.
    audience.assign_job(classify)
    client.audience.get_audience_by_id("global").assign_job(compare).pause()
    print(f"made with the SDK: {definitions} job definitions, 1 audience with 4 examples, 2 jobs")

    failures: list[str] = []
    project = Path(tempfile.mkdtemp())
    env = dict(os.environ, RAPIDATA_CLIENT_ID=args.client_id,
               RAPIDATA_CLIENT_SECRET=args.client_secret, RAPIDATA_ENDPOINT=args.base_url)
    common = ["--color", "never"]
    out = run([args.bin, "import", "--out", "imported", "--name", f"{tag}-*",
               "--format", "json", *common], env, project)
    if out.returncode != 0:
        print(out.stdout, out.stderr, sep="\n", file=sys.stderr)
        print("FAIL import exited", out.returncode)
        return 1
    report = json.loads(out.stdout)
    written = report["written"]
    print(f"rapidata import: {len(written)} manifests written, {len(report['skipped'])} skipped")
    for w in written:
        for n in w["notExpressible"]:
            print(f"  {w['kind']} {w['name']}: not expressible: {n}")
    if report["skipped"]:
        failures.append(f"import skipped {report['skipped']}")
    if len(written) != definitions + 1 + 2:
        failures.append(f"import wrote {len(written)} manifests, expected {definitions + 3}")

    plan = run([args.bin, "plan", "imported", "--detailed-exitcode", *common], env, project)
    print(f"rapidata plan imported --detailed-exitcode: exit {plan.returncode}")
    if plan.returncode != 0:
        failures.append(f"plan on the imported manifests is not empty (exit {plan.returncode}):\n"
                        f"{plan.stdout}{plan.stderr}")

    # Edit: a new instruction, and one more datapoint (a file already on Rapidata).
    d = project / "imported" / "job-definitions"
    ft = d / f"{name('freetext')}.yaml"
    ft.write_text(ft.read_text().replace("Describe the weather", "Describe the weather briefly"))
    rows = (d / f"{name('classify')}.datapoints.jsonl").read_text().splitlines()
    uploaded = json.loads(rows[0])["asset"]
    loc = d / f"{name('locate')}.datapoints.jsonl"
    locate_rows = loc.read_text()
    if uploaded in [json.loads(r)["asset"] for r in locate_rows.splitlines()]:
        uploaded = json.loads(rows[1])["asset"]
    loc.write_text(locate_rows + json.dumps({"asset": uploaded}) + "\n")
    edited = run([args.bin, "plan", "imported", "--detailed-exitcode", *common], env, project)
    print(f"after the edit, rapidata plan imported --detailed-exitcode: exit {edited.returncode}")
    print(edited.stdout)
    if edited.returncode != 2:
        failures.append(f"the edited plan exits {edited.returncode}, expected 2")
    plan_json = json.loads(run([args.bin, "plan", "imported", "--format", "json", *common],
                               env, project).stdout)
    changed = {r["name"]: r for r in plan_json["resources"] if r.get("steps")}
    if sorted(changed) != sorted([name("freetext"), name("locate")]):
        failures.append(f"the edit changes {sorted(changed)}, expected only the two edited")
    else:
        fields = [c["field"] for c in changed[name("freetext")].get("changes", [])]
        if fields != ["instruction"]:
            failures.append(f"the free text definition changes {fields}, expected ['instruction']")
        dps = changed[name("locate")]["datapoints"]
        if (len(dps["add"]), len(dps["remove"]) + len(dps["changed"]), dps["unchanged"]) != (1, 0, 1):
            failures.append(f"the locate datapoints plan {dps}, expected 1 to add, 1 unchanged")
    for f in failures:
        print("FAIL", f)
    print("PASS import of SDK-made resources" if not failures else f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
