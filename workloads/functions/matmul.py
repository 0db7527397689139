"""FunctionBench matmul: multiply two seeded random matrices with numpy."""
import numpy as np

from workloads.functions._params import validate

TENANT = "alice"
DESCRIPTION = "numpy matrix multiply n x n"
SIZES = {"small": 100, "medium": 400, "large": 1400}
PARAMETERS = {
    "n": {"type": "integer", "default": 100, "minimum": 1, "maximum": 2000, "description": "side of the square matrices"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
}


def _matrices(n, seed):
    rng = np.random.default_rng(seed)
    return rng.random((n, n)), rng.random((n, n))


def handler(event):
    event = validate(PARAMETERS, event)
    n, seed = event["n"], event["seed"]
    if not 1 <= n <= 4000:
        raise ValueError(f"n={n} out of range 1..4000")
    a, b = _matrices(n, seed)
    c = a @ b
    return {"n": n, "trace": float(np.trace(c)), "sum": float(c.sum()), "corner": float(c[0, 0])}


def make_event(size="small", seed=0):
    return {"n": SIZES[size], "seed": seed}


def check(event, result):
    # Independent of the product: trace(AB) = sum(A * B^T), sum(AB) = colsums(A) . rowsums(B).
    a, b = _matrices(event["n"], event["seed"])
    return (np.isclose(result["trace"], float(np.sum(a * b.T)), rtol=1e-9)
            and np.isclose(result["sum"], float(a.sum(axis=0) @ b.sum(axis=1)), rtol=1e-9)
            and np.isclose(result["corner"], float(sum(a[0, k] * b[k, 0] for k in range(event["n"]))), rtol=1e-9))
