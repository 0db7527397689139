"""The one invocation type every trace reader produces, and the trace error."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Invocation:
    """One function call of a trace.

    arrival_s is seconds from the start of the trace; duration_s is the CPU
    time the call needs alone on an idle core (its service time).  When
    real_function is set the replayer runs that function with args instead
    of burning duration_s of CPU.
    """
    id: str
    function: str
    tenant: str
    arrival_s: float
    duration_s: float
    real_function: str | None = None
    args: dict[str, Any] | None = field(default=None, compare=False)


class TraceError(ValueError):
    """A malformed trace line: names the file, the line number and the field."""

    def __init__(self, path, line: int, field_name: str, problem: str) -> None:
        self.path, self.line, self.field, self.problem = str(path), line, field_name, problem
        super().__init__(f"{path}:{line}: field {field_name!r}: {problem}")


def parse_float(text: str, path, line: int, field_name: str, *, minimum: float | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceError(path, line, field_name, f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise TraceError(path, line, field_name, f"not a finite number: {text!r}")
    if minimum is not None and value < minimum:
        raise TraceError(path, line, field_name, f"{value} is below {minimum}")
    return value


def parse_int(text: str, path, line: int, field_name: str, *, minimum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise TraceError(path, line, field_name, f"not an integer: {text!r}") from None
    if minimum is not None and value < minimum:
        raise TraceError(path, line, field_name, f"{value} is below {minimum}")
    return value
