"""Naive recursive Fibonacci: pure interpreter work, the SFS paper's workload."""
from workloads.functions._params import validate

TENANT = "alice"
DESCRIPTION = "recursive fib(n)"
SIZES = {"small": 20, "medium": 25, "large": 31}
PARAMETERS = {
    "n": {"type": "integer", "default": 20, "minimum": 0, "maximum": 40, "description": "which Fibonacci number"},
}


def _fib(n: int) -> int:
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def handler(event):
    event = validate(PARAMETERS, event)
    n = event["n"]
    return {"n": n, "fib": _fib(n)}


def make_event(size="small", seed=0):
    return {"n": SIZES[size]}


def check(event, result):
    a, b = 0, 1
    for _ in range(event["n"]):
        a, b = b, a + b
    return result == {"n": event["n"], "fib": a}
