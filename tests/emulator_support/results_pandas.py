#!/usr/bin/env python3
"""The emulator's results documents, one per task type, parse with the official SDK.

    python3 results_pandas.py --base-url http://127.0.0.1:PORT --client-id X --client-secret Y

Runs a small job of each task type on the global audience (plain HTTP, no SDK calls), waits
for it to complete, downloads its results and converts them with the SDK's
`RapidataResults.to_pandas()` and `to_pandas(split_details=True)`
(rapidata_client/results/rapidata_results.py). Prints one line per task type and exits 1 if
any fails. Run by .ci/interop.sh after the conformance checks.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.request


class Api:
    def __init__(self, base: str, client_id: str, secret: str):
        self.base = base.rstrip("/")
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        req = urllib.request.Request(
            f"{self.base}/connect/token",
            data=b"grant_type=client_credentials&scope=openid+email+api",
            headers={"Authorization": f"Basic {basic}",
                     "Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(req) as r:
            self.token = json.load(r)["access_token"]

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            raw = r.read()
        return json.loads(raw) if raw else None


def text(t: str) -> dict:
    return {"_t": "TextAssetInput", "text": t}


OPTIONS = {"key": "answer_options", "kind": "OptionList",
           "options": [{"label": "cat", "value": "cat"}, {"label": "dog", "value": "dog"}]}

# task type -> (workflow, datapoints as (segments, group))
CASES = {
    "Classification": (
        {"_t": "SimpleWorkflow", "rapid": {"_t": "Classify", "asset": {"segment": "asset"},
                                          "title": {"literal": "Cat or dog?"}, "categories": {"segment": "answer_options"}}},
        [([{"key": "asset", "kind": "Asset", "asset": text(f"animal {i}")}, OPTIONS], None) for i in range(3)],
    ),
    "Compare": (
        {"_t": "SimpleWorkflow", "rapid": {"_t": "Compare", "asset": {"segment": "asset"},
                                          "criteria": {"literal": "Which is cuter?"}}},
        [([{"key": "asset", "kind": "Asset", "asset": {"_t": "MultiAssetInput", "assets": [text(f"left {i}"), text(f"right {i}")]}}], None)
         for i in range(3)],
    ),
    "Ranking": (
        {"_t": "GroupedRankingWorkflow", "criteria": "Which is best?"},
        [([{"key": "asset", "kind": "Asset", "asset": text(f"item {g}-{i}")}], f"group-{g}") for g in range(2) for i in range(3)],
    ),
    "FreeText": (
        {"_t": "SimpleWorkflow", "rapid": {"_t": "FreeText", "asset": {"segment": "asset"},
                                          "question": {"literal": "Describe it"}}},
        [([{"key": "asset", "kind": "Asset", "asset": text(f"photo {i}")}], None) for i in range(2)],
    ),
    "Locate": (
        {"_t": "SimpleWorkflow", "rapid": {"_t": "Locate", "asset": {"segment": "asset"},
                                          "target": {"literal": "Tap the cat"}}},
        [([{"key": "asset", "kind": "Asset", "asset": text(f"scene {i}")}], None) for i in range(2)],
    ),
}


def run_case(api: Api, kind: str, workflow: dict, datapoints) -> str:
    ds = api.call("POST", "/dataset", {"name": f"pandas-{kind}"})["datasetId"]
    for i, (segments, group) in enumerate(datapoints):
        api.call("POST", f"/dataset/{ds}/datapoint", {"segments": segments, "sortIndex": i, "group": group})
    definition = api.call("POST", "/job/definition", {
        "definitionName": f"pandas-{kind}", "workflow": workflow, "datasetId": ds,
        "referee": {"_t": "NaiveReferee", "totalVotes": 3}})["definitionId"]
    job = api.call("POST", "/job", {"jobDefinitionId": definition, "audienceId": "global"})["jobId"]
    deadline = time.monotonic() + 60
    while api.call("GET", f"/job/{job}")["state"] != "Completed":
        if time.monotonic() > deadline:
            raise RuntimeError("job did not complete within 60 s")
        time.sleep(0.5)
    from rapidata.rapidata_client.results.rapidata_results import RapidataResults
    results = RapidataResults(api.call("GET", f"/job/{job}/download-results"))
    if results["info"]["type"] != kind:
        raise RuntimeError(f"info.type is {results['info']['type']!r}")
    frame = results.to_pandas()
    detailed = results.to_pandas(split_details=True)
    if frame.empty or detailed.empty:
        raise RuntimeError("to_pandas() returned an empty frame")
    return f"{len(frame)} rows x {len(frame.columns)} columns, {len(detailed)} response rows"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    args = ap.parse_args()
    api = Api(args.base_url, args.client_id, args.client_secret)
    failed = 0
    for kind, (workflow, datapoints) in CASES.items():
        try:
            print(f"PASS results-to-pandas {kind}: {run_case(api, kind, workflow, datapoints)}", flush=True)
        except Exception as e:  # report every case
            failed += 1
            print(f"FAIL results-to-pandas {kind}: {type(e).__name__}: {e}", flush=True)
    print(f"{len(CASES) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
