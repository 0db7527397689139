"""`json.dumps(obj, indent=2)` text, built without the pure-Python encoder.

With `indent` set, the standard library encodes through generators, one
call per value: about 0.4 s for the placement of a 10,000-server x
1,000-framework allocation.  Here a container whose values are all scalars
(a framework's placement, a tasks table) is written by the C encoder that
`json.dumps` uses without indent: its item separator is the newline and
indentation of that level, so only the opening and closing lines are added
here.  For str keys and int, float, str, bool and None values both encoders
write the same text (float.__repr__, int.__repr__, the same ASCII string
escaping).  The text is identical to `json.dumps(obj, indent=2)` (tested);
anything this writer does not know (non-str keys, numpy scalars, other
types) goes to `json.dumps` unchanged, which keeps its errors.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string
from typing import Any

_INF = float("inf")
_LEAF_TYPES = (int, float, str, bool, type(None))
_LEAF_ENCODERS: dict[str, json.JSONEncoder] = {}  # per item separator (one per depth)


class _Unsupported(Exception):
    pass


def _float(v: float) -> str:
    if v != v:
        return "NaN"
    if v == _INF:
        return "Infinity"
    if v == -_INF:
        return "-Infinity"
    return float.__repr__(v)


def _scalar(v: Any) -> str:
    t = type(v)
    if t is int:
        return int.__repr__(v)
    if t is float:
        return _float(v)
    if t is str:
        return _string(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    raise _Unsupported


def _key(k: Any) -> str:
    if type(k) is not str:
        raise _Unsupported
    return _string(k)


def _write(obj: Any, nl: str, out: list[str]) -> None:
    t = type(obj)
    if t is dict or t is list:
        if not obj:
            out.append("{}" if t is dict else "[]")
            return
        inner = nl + "  "
        sep = "," + inner
        open_, close = ("{", "}") if t is dict else ("[", "]")
        items = obj.items() if t is dict else None
        values = obj.values() if t is dict else obj
        if not any(type(v) is dict or type(v) is list for v in values):
            if not all(type(v) in _LEAF_TYPES for v in values) or (
                    t is dict and not all(type(k) is str for k in obj)):
                raise _Unsupported
            # "{" + items joined by sep + "}" from the C encoder; the first
            # item and the closing bracket get their own lines here.
            enc = _LEAF_ENCODERS.get(sep)
            if enc is None:
                enc = _LEAF_ENCODERS[sep] = json.JSONEncoder(separators=(sep, ": "))
            body = enc.encode(obj)
            out.append(f"{open_}{inner}{body[1:-1]}{nl}{close}")
            return
        out.append(open_)
        first = True
        for k, v in (items if t is dict else enumerate(obj)):
            out.append(inner if first else sep)
            first = False
            if t is dict:
                out.append(_key(k) + ": ")
            _write(v, inner, out)
        out.append(nl + close)
        return
    out.append(_scalar(obj))


def dumps_indented(obj: Any) -> str:
    """The text of json.dumps(obj, indent=2)."""
    out: list[str] = []
    try:
        _write(obj, "\n", out)
    except _Unsupported:
        return json.dumps(obj, indent=2)
    return "".join(out)
