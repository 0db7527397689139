"""FunctionBench json_dumps_loads: serialise and parse a nested document."""
import hashlib
import json
import random

from workloads.functions._params import validate

TENANT = "bob"
DESCRIPTION = "JSON serialise + parse a generated document"
SIZES = {"small": 300, "medium": 4_000, "large": 40_000}
PARAMETERS = {
    "records": {"type": "integer", "default": 300, "minimum": 1, "maximum": 100_000, "description": "records in the document"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
}


def _document(records, seed):
    rng = random.Random(seed)
    return [{"id": i, "name": f"user-{rng.randrange(10**6)}", "score": rng.random(),
             "tags": [rng.choice("abcdefgh") * rng.randint(1, 4) for _ in range(rng.randint(0, 5))],
             "active": rng.random() < 0.5, "address": {"zip": f"{rng.randrange(10**5):05d}", "n": None}}
            for i in range(records)]


def handler(event):
    event = validate(PARAMETERS, event)
    doc = _document(event["records"], event["seed"])
    text = json.dumps(doc, sort_keys=True)
    parsed = json.loads(text)
    return {"records": len(parsed), "bytes": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "score_sum": sum(r["score"] for r in parsed)}


def make_event(size="small", seed=0):
    return {"records": SIZES[size], "seed": seed}


def check(event, result):
    doc = _document(event["records"], event["seed"])
    text = json.dumps(doc, sort_keys=True)
    return (result["records"] == len(doc) and result["bytes"] == len(text)
            and result["sha256"] == hashlib.sha256(text.encode()).hexdigest()
            and abs(result["score_sum"] - sum(r["score"] for r in doc)) < 1e-6)
