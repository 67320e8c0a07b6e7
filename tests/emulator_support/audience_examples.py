#!/usr/bin/env python3
"""The official SDK sees exactly the qualification examples `rapidata apply` put on an audience.

    python3 audience_examples.py --base-url http://127.0.0.1:PORT --client-id X --client-secret Y \
        --bin target/debug/rapidata

Writes a small project (an Audience with text and image examples, from inline YAML and a
JSONL source), applies it with the rapidata CLI against the emulator, then reads the
audience with the SDK: `RapidataAudience.get_examples()` (audience/rapidata_audience.py,
formatted by audience/example_formatter.py) must list exactly the manifest's examples
(asset, truth, context), recruiting must have started, and a second plan must be empty
(`plan --detailed-exitcode` exits 0). Exits 1 on any mismatch. Run by .ci/interop.sh.
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

from sdk_conformance import Recorder, install_redirect  # noqa: E402

# A 1x1 PNG, so the image example is a real media file.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

MANIFEST = """apiVersion: rapidata.ai/v1
kind: Audience
name: {name}
admission: {{targetAccuracy: 0.8, minTasks: 3}}
filters:
  - {{_t: LanguageFilter, languages: [EN]}}
examples:
  - type: classify
    instruction: Is the sentence positive?
    answerOptions: [positive, negative]
    asset: {{text: I love it}}
    truth: [positive]
  - type: classify
    instruction: Is the sentence positive?
    answerOptions: [positive, negative]
    asset: {{text: I hate it}}
    truth: [negative]
    context: Read it twice.
  - type: classify
    instruction: Is this a cat?
    answerOptions: [cat, dog]
    asset: cat.png
    truth: [cat]
exampleSources:
  - jsonl: more.jsonl
"""

ROWS = [
    {"type": "compare", "instruction": "Which is friendlier?",
     "assets": [{"text": "Hello there"}, {"text": "Go away"}], "truth": "Hello there"},
]

# What get_examples() must show: (asset, truth, context); None = an uploaded file's URL.
EXPECTED = sorted([
    ("I love it", "['positive']", None),
    ("I hate it", "['negative']", "Read it twice."),
    (None, "['cat']", None),
    ("['Hello there', 'Go away']", "Hello there", None),
], key=repr)


def run(cmd: list[str], env: dict, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        print(p.stdout, p.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"FAIL: {' '.join(cmd[:2])} exited {p.returncode}")
    return p


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--bin", required=True, help="the rapidata binary")
    ap.add_argument("--environment", default="rapidata.emulator")
    args = ap.parse_args()

    name = f"interop-audience-{os.getpid()}"
    tmp = Path(tempfile.mkdtemp())
    (tmp / "audience.yaml").write_text(MANIFEST.format(name=name))
    (tmp / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (tmp / "cat.png").write_bytes(PNG)
    env = dict(os.environ, RAPIDATA_CLIENT_ID=args.client_id,
               RAPIDATA_CLIENT_SECRET=args.client_secret, RAPIDATA_ENDPOINT=args.base_url)
    common = ["--color", "never"]
    run([args.bin, "apply", str(tmp), "--auto-approve", *common], env)
    again = run([args.bin, "plan", str(tmp), "--detailed-exitcode", *common], env, check=False)
    failures = []
    if again.returncode != 0:
        failures.append(f"the second plan is not empty (exit {again.returncode}):\n{again.stdout}")
    plan = json.loads(run([args.bin, "plan", str(tmp), "--format", "json", *common], env).stdout)
    audience_id = next(r["remoteId"] for r in plan["resources"] if r["kind"] == "Audience")

    recorder = Recorder()
    install_redirect(args.base_url, args.environment, recorder)
    from rapidata import RapidataClient

    client = RapidataClient(client_id=args.client_id, client_secret=args.client_secret,
                            environment=args.environment)
    audience = client.audience.get_audience_by_id(audience_id)
    df = audience.get_examples(amount=100)
    prefix = f"https://assets.{args.environment}/"
    got = []
    for row in df.to_dict("records"):
        asset = row["asset"]
        if isinstance(asset, str) and asset.startswith(prefix):
            asset = None
        context = row.get("context")
        context = None if context is None or context != context else context  # NaN -> None
        got.append((asset, row["truth"], context))
    got.sort(key=repr)
    if got != EXPECTED:
        failures.append(f"get_examples() shows {got}, the manifest has {EXPECTED}")
    # Recruiting was started by apply: the funnel is no longer empty.
    metrics = audience.get_recruiting_metrics()
    print(f"get_examples(): {len(got)} examples; recruiting metrics {metrics}")
    if metrics.graduated + metrics.distilling + metrics.dropped == 0:
        failures.append(f"recruiting did not start: {metrics}")
    for f in failures:
        print("FAIL", f)
    print("PASS audience examples" if not failures else f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
