"""FunctionBench float_operation: sin, cos and sqrt over a range of floats."""
import math

from workloads.functions._params import validate

TENANT = "alice"
DESCRIPTION = "sin/cos/sqrt over n floats"
SIZES = {"small": 20_000, "medium": 200_000, "large": 1_500_000}
PARAMETERS = {
    "n": {"type": "integer", "default": 20_000, "minimum": 1, "maximum": 5_000_000, "description": "values to transform"},
}


def handler(event):
    event = validate(PARAMETERS, event)
    n = event["n"]
    total = 0.0
    for i in range(n):
        x = i * 0.001
        total += math.sin(x) * math.cos(x) + math.sqrt(x)
    return {"n": n, "sum": total}


def make_event(size="small", seed=0):
    return {"n": SIZES[size] + seed}


def check(event, result):
    # Closed forms: sum sin(x)cos(x) = sum sin(2x)/2, and sqrt by integer powers.
    import numpy as np
    x = np.arange(event["n"]) * 0.001
    expected = float(np.sum(np.sin(2 * x) / 2) + np.sum(x ** 0.5))
    return result["n"] == event["n"] and math.isclose(result["sum"], expected, rel_tol=1e-9, abs_tol=1e-6)
