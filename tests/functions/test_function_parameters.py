"""Declared parameters: every bundled function declares them, and the check refuses what does not fit."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from workloads.functions._params import ParameterError, check_declaration, example, validate

LIBRARY = Path(__file__).resolve().parents[2] / "workloads" / "functions"
NAMES = sorted(p.stem for p in LIBRARY.glob("[a-z]*.py"))


def _declared(name: str) -> dict:
    tree = ast.parse((LIBRARY / f"{name}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PARAMETERS":
            return ast.literal_eval(node.value)  # what the host reads, without importing
    raise AssertionError(f"{name} declares no PARAMETERS")


@pytest.mark.parametrize("name", NAMES)
def test_each_function_declares_literal_parameters_whose_defaults_and_example_pass(name):
    parameters = _declared(name)
    check_declaration(parameters)
    module = importlib.import_module(f"workloads.functions.{name}")
    assert module.PARAMETERS == parameters
    assert validate(parameters, {}) == example(parameters)
    small = module.make_event("small")
    assert validate(parameters, small) == {**example(parameters), **small}  # make_event fits its declaration


@pytest.mark.parametrize("event,field,needle", [
    ({"n": "3"}, "n", "expected an integer"),
    ({"n": 3.5}, "n", "expected an integer"),
    ({"n": False}, "n", "expected an integer"),
    ({"n": -1}, "n", "below the minimum 0"),
    ({"n": 41}, "n", "above the maximum 40"),
    ({"x": 1}, "x", "unknown field"),
    ([], "event", "expected a JSON object"),
])
def test_validate_names_the_field(event, field, needle):
    parameters = _declared("fib")
    with pytest.raises(ParameterError) as info:
        validate(parameters, event)
    assert info.value.field == field and needle in str(info.value)


def test_integral_floats_are_integers_and_strings_are_matched_whole():
    assert validate({"n": {"type": "integer"}}, {"n": 20.0}) == {"n": 20}
    key = {"k": {"type": "string", "pattern": "[0-9a-f]{4}"}}
    assert validate(key, {"k": "00ff"}) == {"k": "00ff"}
    with pytest.raises(ParameterError, match="does not match"):
        validate(key, {"k": "00ff00"})
    with pytest.raises(ParameterError, match="missing required field"):
        validate(key, {})


@pytest.mark.parametrize("bad,needle", [
    ({"n": {"type": "float"}}, "type must be one of"),
    ({"n": {"type": "integer", "colour": 1}}, "unknown key 'colour'"),
    ({"n": {"type": "integer", "default": "x"}}, "expected an integer"),
    (["n"], "must be a dict"),
])
def test_bad_declarations_are_refused(bad, needle):
    with pytest.raises(ValueError, match=needle):
        check_declaration(bad)
