"""The indented JSON writer prints exactly json.dumps(obj, indent=2)."""
import json
import random

import numpy as np
import pytest

from fairshare.jsontext import dumps_indented
from fairshare.workload import synthetic_problem
from fairshare.policies import get_policy

SCALARS = [0, -7, 2 ** 70, 1.5, -0.0, 1e-300, 1e308, float("nan"), float("inf"), float("-inf"),
           True, False, None, "", "plain", "quo\"te\\back\nnew", "é ü ☃ \U0001F600", "\x00\x1f"]


def _random_value(rng: random.Random, depth: int):
    kind = rng.random()
    if depth <= 0 or kind < 0.4:
        return rng.choice(SCALARS)
    if kind < 0.7:
        return [_random_value(rng, depth - 1) for _ in range(rng.randrange(0, 5))]
    return {rng.choice(["a", "b", "c\"", "ß", "", "key with spaces", str(k)]) + str(k): _random_value(rng, depth - 1)
            for k in range(rng.randrange(0, 5))}


@pytest.mark.parametrize("seed", range(200))
def test_random_structures_match_json_dumps(seed):
    obj = _random_value(random.Random(seed), 4)
    assert dumps_indented(obj) == json.dumps(obj, indent=2)


def test_allocation_output_matches_json_dumps():
    p = synthetic_problem(60, 12, 4, 0.3, 0)
    data = get_policy("psdsf")(p).to_dict()
    data["per_server"] = get_policy("drf")(p).per_server()
    assert dumps_indented(data) == json.dumps(data, indent=2)


def test_unknown_types_behave_like_json_dumps():
    # Non-str keys are converted by json.dumps; the writer defers to it.
    assert dumps_indented({1: [1, 2], "x": {2.5: None}}) == json.dumps({1: [1, 2], "x": {2.5: None}}, indent=2)
    with pytest.raises(TypeError, match="int64"):
        dumps_indented({"a": [np.int64(3)]})
