"""Function discovery: which files in the functions folder are servable, and under what name.

A function is a file ``NAME.py`` directly in the folder, NAME matching
``[a-z][a-z0-9_]{0,63}``, that is a regular file (not a symlink) whose
resolved path stays inside the folder.  Its tenant and description are read
from module-level constants (TENANT, DESCRIPTION, NETWORK, and PARAMETERS as
a literal) with `ast`, without importing the module: the host runs as root
and never executes function code.
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from workloads.functions._params import check_declaration, example, validate

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DEFAULT_TENANT = "default"
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def default_functions_dir() -> Path:
    import workloads.functions
    return Path(workloads.functions.__file__).resolve().parent


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    path: Path
    tenant: str
    description: str
    network: bool = False   # NETWORK = True in the module: the sandbox keeps the host's network
    # PARAMETERS of the module (see workloads.functions._params), None when it declares none.
    parameters: dict | None = field(default=None, hash=False, compare=False)

    def interface(self) -> dict:
        """Parameters with their types and defaults, and an example event, for GET /functions."""
        if self.parameters is None:
            return {"parameters": None, "example": {}}
        return {"parameters": self.parameters, "example": example(self.parameters)}

    def validate(self, event: dict) -> dict:
        """The event with defaults filled in; ParameterError names the offending field."""
        return event if self.parameters is None else validate(self.parameters, event)


def _constants(path: Path) -> dict[str, object]:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as exc:
        raise ValueError(f"{path}: not valid Python: {exc}") from None
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, (str, bool)):
                found[node.targets[0].id] = node.value.value
            elif node.targets[0].id == "PARAMETERS":
                try:
                    found["PARAMETERS"] = ast.literal_eval(node.value)
                    check_declaration(found["PARAMETERS"])
                except ValueError as exc:
                    raise ValueError(f"{path}:{node.lineno}: PARAMETERS: {exc}") from None
    return found


def resolve(directory: Path, name: str) -> Path | None:
    """The file serving `name`, or None if the name is invalid or escapes `directory`."""
    if not NAME_RE.match(name):
        return None
    root = directory.resolve()
    candidate = root / f"{name}.py"
    if candidate.is_symlink() or not candidate.is_file():
        return None
    real = candidate.resolve()
    if real.parent != root:
        return None
    return real


def discover(directory: Path) -> tuple[dict[str, FunctionSpec], list[str]]:
    """All servable functions in `directory`, plus one problem line per skipped file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"functions folder {directory} does not exist")
    specs: dict[str, FunctionSpec] = {}
    problems: list[str] = []
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(".py") or entry.startswith("_"):
            continue
        name = entry[:-3]
        path = resolve(directory, name)
        if path is None:
            problems.append(f"{directory / entry}: skipped (name must match {NAME_RE.pattern}, "
                            "and be a regular file inside the folder, not a symlink)")
            continue
        try:
            constants = _constants(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        tenant = constants.get("TENANT", DEFAULT_TENANT)
        if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
            problems.append(f"{path}: TENANT {tenant!r} is not a valid tenant name")
            continue
        description = constants.get("DESCRIPTION", "")
        specs[name] = FunctionSpec(name, path, tenant, description if isinstance(description, str) else "",
                                   network=constants.get("NETWORK") is True,
                                   parameters=constants.get("PARAMETERS"))
    return specs, problems
