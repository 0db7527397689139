"""FunctionBench gzip_compression: compress generated text, return the archive."""
import base64
import gzip
import hashlib
import random

TENANT = "bob"
DESCRIPTION = "gzip a generated text"
SIZES = {"small": 20_000, "medium": 600_000, "large": 6_000_000}
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
    data = _text(int(event["bytes"]), int(event.get("seed", 0)))
    packed = gzip.compress(data, compresslevel=int(event.get("level", 6)), mtime=0)
    return {"original_bytes": len(data), "compressed_bytes": len(packed),
            "original_sha256": hashlib.sha256(data).hexdigest(),
            "gzip_b64": base64.b64encode(packed).decode() if event.get("return_data", True) else None}


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
