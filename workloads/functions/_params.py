"""Declared parameters of a function and the check of an event against them.

A function module declares its parameters as a literal dict, so that the
host can read them without importing the module (with `ast.literal_eval`):

    PARAMETERS = {
        "n":    {"type": "integer", "minimum": 0, "maximum": 40, "description": "which Fibonacci number"},
        "seed": {"type": "integer", "default": 0},
    }

Types: integer, number, string, boolean.  Optional keys: default (a
parameter without one is required), minimum and maximum (numbers),
max_length and pattern (strings, pattern anchored at both ends).  Fields the
declaration does not name are refused.  `validate()` returns the event with
defaults filled in, or raises ParameterError naming the field.
"""
from __future__ import annotations

import math
import re

TYPES = ("integer", "number", "string", "boolean")
SPEC_KEYS = {"type", "default", "minimum", "maximum", "max_length", "pattern", "description"}


class ParameterError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def check_declaration(parameters) -> None:
    """Raise ValueError if `parameters` is not a valid declaration (the host checks this at start-up)."""
    if not isinstance(parameters, dict):
        raise ValueError("PARAMETERS must be a dict of name -> spec")
    for name, spec in parameters.items():
        if not isinstance(name, str) or not isinstance(spec, dict):
            raise ValueError(f"PARAMETERS[{name!r}] must be a dict")
        if spec.get("type") not in TYPES:
            raise ValueError(f"PARAMETERS[{name!r}].type must be one of {', '.join(TYPES)}")
        unknown = set(spec) - SPEC_KEYS
        if unknown:
            raise ValueError(f"PARAMETERS[{name!r}] has unknown key {sorted(unknown)[0]!r}")
        if "default" in spec:
            _check(name, spec, spec["default"])


def _check(name: str, spec: dict, value):
    kind = spec["type"]
    if kind == "integer":
        # JSON has one number type: 20.0 is the integer 20, 20.5 is not an integer.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
            raise ParameterError(name, f"expected an integer, got {_show(value)}")
        value = int(value)
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParameterError(name, f"expected a finite number, got {_show(value)}")
    elif kind == "string":
        if not isinstance(value, str):
            raise ParameterError(name, f"expected a string, got {_show(value)}")
        if "max_length" in spec and len(value) > spec["max_length"]:
            raise ParameterError(name, f"longer than {spec['max_length']} characters")
        if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
            raise ParameterError(name, f"does not match {spec['pattern']}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ParameterError(name, f"expected true or false, got {_show(value)}")
    if kind in ("integer", "number"):
        if "minimum" in spec and value < spec["minimum"]:
            raise ParameterError(name, f"{value} is below the minimum {spec['minimum']}")
        if "maximum" in spec and value > spec["maximum"]:
            raise ParameterError(name, f"{value} is above the maximum {spec['maximum']}")
    return value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(parameters: dict, event) -> dict:
    """`event` checked against `parameters`, with defaults filled in."""
    if not isinstance(event, dict):
        raise ParameterError("event", "expected a JSON object")
    for name in event:
        if name not in parameters:
            raise ParameterError(str(name)[:64], f"unknown field (expected {', '.join(sorted(parameters)) or 'none'})")
    checked = {}
    for name, spec in parameters.items():
        if name in event:
            checked[name] = _check(name, spec, event[name])
        elif "default" in spec:
            checked[name] = spec["default"]
        else:
            raise ParameterError(name, "missing required field")
    return checked


def example(parameters: dict) -> dict:
    """An event that passes: each parameter's default, or else its minimum, or a value of its type."""
    blank = {"integer": 0, "number": 0.0, "string": "", "boolean": False}
    return {name: spec.get("default", spec.get("minimum", blank[spec["type"]]))
            for name, spec in parameters.items()}
