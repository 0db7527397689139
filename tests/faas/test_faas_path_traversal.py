"""Function names cannot reach outside the functions folder."""
from __future__ import annotations

import http.client
import json
import os

import pytest

from faas_support import make_functions_dir, start_server
from sfs.faas.functions import discover, resolve


@pytest.fixture(scope="module")
def traversal_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("traversal")
    functions_dir = make_functions_dir(tmp_path)
    outside = tmp_path / "outside.py"
    outside.write_text("TENANT = 'evil'\ndef handler(event):\n    return 'MARK-ESCAPED'\n")
    os.symlink(outside, functions_dir / "linked.py")
    (functions_dir / "Upper.py").write_text("def handler(e):\n    return 'MARK-UPPER'\n")
    (functions_dir / "_private.py").write_text("def handler(e):\n    return 'MARK-PRIVATE'\n")
    server = start_server(tmp_path, functions_dir)
    yield server
    assert server.stop() == 0


def _raw_post(url: str, path: str):
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


@pytest.mark.parametrize("path", [
    "/run/../outside", "/run/..%2foutside", "/run/%2e%2e/outside", "/run/%2e%2e%2foutside",
    "/run/..", "/run/%2e%2e", "/run//etc/passwd", "/run/%2fetc%2fpasswd", "/run/linked",
    "/run/Upper", "/run/_private", "/run/echo.py", "/run/echo/", "/run/echo%00", "/run/fib/../echo2",
    "/run/", "/run/%252e%252e%252foutside",
])
def test_escaping_names_are_404_and_run_nothing(traversal_server, path):
    status, body = _raw_post(traversal_server.url, path)
    assert status == 404, (path, body)
    assert b"MARK-" not in body


def test_listing_shows_only_valid_regular_files(traversal_server):
    status, _, body = traversal_server.request("GET", "/functions")
    names = {f["name"] for f in json.loads(body)["functions"]}
    assert status == 200 and "echo" in names
    assert not names & {"linked", "Upper", "_private", "outside"}


def test_resolve_rejects_symlinks_bad_names_and_absolute_paths(tmp_path):
    folder = tmp_path / "fns"
    folder.mkdir()
    (folder / "good.py").write_text("def handler(e): return 1\n")
    (tmp_path / "secret.py").write_text("def handler(e): return 2\n")
    os.symlink(tmp_path / "secret.py", folder / "alias.py")
    assert resolve(folder, "good") == (folder / "good.py").resolve()
    for name in ("alias", "../secret", "/etc/passwd", str(tmp_path / "secret"), "good.py", "GOOD", "", "a" * 65):
        assert resolve(folder, name) is None, name
    specs, problems = discover(folder)
    assert set(specs) == {"good"} and any("alias.py" in p for p in problems)
