"""Text statistics and a lexicon sentiment score (SFS/OpenLambda `st` in spirit)."""
import random
import re
from collections import Counter

from workloads.functions._params import validate

TENANT = "carol"
DESCRIPTION = "word statistics and lexicon sentiment of a generated text"
SIZES = {"small": 2_000, "medium": 40_000, "large": 400_000}
PARAMETERS = {
    "words": {"type": "integer", "default": 2_000, "minimum": 1, "maximum": 2_000_000, "description": "words of generated text"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
}
POSITIVE = {"good", "great", "excellent", "happy", "fast", "love", "nice", "clean"}
NEGATIVE = {"bad", "awful", "slow", "sad", "hate", "broken", "ugly", "late"}
_NEUTRAL = "the a scheduler function request latency core queue tenant server load trace".split()


def _text(words, seed):
    rng = random.Random(seed)
    vocabulary = sorted(POSITIVE) + sorted(NEGATIVE) + _NEUTRAL * 3
    out = []
    for i in range(words):
        w = rng.choice(vocabulary)
        out.append(w.capitalize() + "." if i % 11 == 10 else w)
    return " ".join(out)


def handler(event):
    event = validate(PARAMETERS, event)
    text = _text(event["words"], event["seed"])
    tokens = re.findall(r"[a-z']+", text.lower())
    counts = Counter(tokens)
    pos = sum(counts[w] for w in POSITIVE)
    neg = sum(counts[w] for w in NEGATIVE)
    return {"words": len(tokens), "distinct": len(counts), "sentences": text.count("."),
            "top": counts.most_common(5), "positive": pos, "negative": neg,
            "sentiment": (pos - neg) / max(1, pos + neg)}


def make_event(size="small", seed=0):
    return {"words": SIZES[size], "seed": seed}


def check(event, result):
    words = [w.strip(".").lower() for w in _text(event["words"], event["seed"]).split()]
    pos = sum(w in POSITIVE for w in words)
    neg = sum(w in NEGATIVE for w in words)
    top_word, top_count = result["top"][0]
    return (result["words"] == len(words) == event["words"] and result["positive"] == pos
            and result["distinct"] == len(set(words))
            and abs(result["sentiment"] - (pos - neg) / max(1, pos + neg)) < 1e-12
            and result["negative"] == neg and words.count(top_word) == top_count
            and top_count == max(words.count(w) for w in set(words))
            and result["sentences"] == event["words"] // 11)
