"""FunctionBench gzip_compression: compress generated text, return the archive."""
import base64
import gzip
import hashlib
import random

from workloads.functions._params import validate

TENANT = "bob"
DESCRIPTION = "gzip a generated text"
SIZES = {"small": 20_000, "medium": 600_000, "large": 6_000_000}
PARAMETERS = {
    "bytes": {"type": "integer", "default": 20_000, "minimum": 1, "maximum": 16_000_000, "description": "bytes of generated text"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
    "level": {"type": "integer", "default": 6, "minimum": 0, "maximum": 9, "description": "gzip level"},
    "return_data": {"type": "boolean", "default": True, "description": "return the archive in base64"},
}
_WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()


def _text(nbytes, seed):
    rng = random.Random(seed)
    words, size = [], 0
    while size < nbytes:
        w = rng.choice(_WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words).encode()[:nbytes]


def handler(event):
    event = validate(PARAMETERS, event)
    data = _text(event["bytes"], event["seed"])
    packed = gzip.compress(data, compresslevel=event["level"], mtime=0)
    return {"original_bytes": len(data), "compressed_bytes": len(packed),
            "original_sha256": hashlib.sha256(data).hexdigest(),
            "gzip_b64": base64.b64encode(packed).decode() if event["return_data"] else None}


def make_event(size="small", seed=0):
    return {"bytes": SIZES[size], "seed": seed, "return_data": size != "large"}


def check(event, result):
    data = _text(event["bytes"], event["seed"])
    if result["original_sha256"] != hashlib.sha256(data).hexdigest() or result["original_bytes"] != len(data):
        return False
    if result["gzip_b64"] is not None:
        packed = base64.b64decode(result["gzip_b64"])
        return len(packed) == result["compressed_bytes"] and gzip.decompress(packed) == data
    return 0 < result["compressed_bytes"] < len(data)
