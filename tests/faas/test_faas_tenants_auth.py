"""`sfs serve --tenants`: Bearer tokens, each tenant sees and runs only its own functions, the admin all."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from faas_support import ROOT, cgroup_dirs, needs_root, start_server
from sfs.faas.auth import TenantEntry, Tenants, TenantsFileError, digest

TOKENS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}


def _tenants_file(tmp, suffix=".json") -> os.PathLike:
    path = tmp / f"tenants{suffix}"
    Tenants(digest(TOKENS["admin"]), {
        "alice": TenantEntry(digest(TOKENS["alice"]), 2, ["fib"]),
        "bob": TenantEntry(digest(TOKENS["bob"]), 1, ["echo"]),   # echo's module says "testers"
    }).save(path)
    return path


def _as(who: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from faas_support import make_functions_dir
    tmp = tmp_path_factory.mktemp("auth")
    server = start_server(tmp, make_functions_dir(tmp), "--tenants", str(_tenants_file(tmp, ".yaml")))
    yield server
    assert server.stop() == 0, server.log.read_text()
    assert cgroup_dirs(server.cgroup_parent) == []


@needs_root
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YTpi"},
                                     {"Authorization": f"Bearer {digest(TOKENS['alice'])}"}])
@pytest.mark.parametrize("method,path", [("POST", "/run/fib"), ("GET", "/functions"), ("GET", "/metrics"),
                                         ("POST", "/run/nosuch"), ("GET", "/invocations/x")])
def test_no_or_a_wrong_token_is_401(server, headers, method, path):
    status, response_headers, body = server.request(method, path, b"{}" if method == "POST" else None,
                                                    headers=headers)
    assert status == 401 and json.loads(body) == {"error": "missing or invalid bearer token"}
    assert response_headers["WWW-Authenticate"].startswith("Bearer")


@needs_root
def test_a_tenant_runs_its_own_functions_and_another_tenants_look_unknown(server):
    status, headers, body = server.run("fib", {"n": 10}, headers=_as("alice"))
    assert status == 200 and body == {"n": 10, "fib": 55} and headers["X-Tenant"] == "alice"
    foreign = server.run("echo", {"x": 1}, headers=_as("alice"))
    unknown = server.run("nosuch", {"x": 1}, headers=_as("alice"))
    assert foreign[0] == unknown[0] == 404
    assert foreign[2] == {"error": "unknown function 'echo'", "function": "echo"}
    assert unknown[2] == {"error": "unknown function 'nosuch'", "function": "nosuch"}
    # echo belongs to bob, who listed it, whatever its module's TENANT says.
    status, headers, body = server.run("echo", {"x": 1}, headers=_as("bob"))
    assert status == 200 and headers["X-Tenant"] == "bob"


@needs_root
def test_x_tenant_is_for_the_admin_only(server):
    status, _, body = server.run("fib", {"n": 3}, headers={**_as("alice"), "X-Tenant": "bob"})
    assert status == 403 and "alice" in body["error"]
    status, _, _ = server.run("fib", {"n": 3}, headers={**_as("alice"), "X-Tenant": "alice"})
    assert status == 200
    status, headers, _ = server.run("fib", {"n": 3}, headers={**_as("admin"), "X-Tenant": "bob"})
    assert status == 200 and headers["X-Tenant"] == "bob"
    status, _, body = server.run("fib", {"n": 3}, headers={**_as("admin"), "X-Tenant": "mallory"})
    assert status == 400 and "no such tenant" in body["error"]


@needs_root
def test_function_listing_is_filtered_and_describes_parameters(server):
    _, _, body = server.request("GET", "/functions", headers=_as("alice"))
    listing = json.loads(body)["functions"]
    assert [f["name"] for f in listing] == ["fib"]
    fib = listing[0]
    assert fib["tenant"] == "alice" and fib["example"] == {"n": 20}
    assert fib["parameters"]["n"]["type"] == "integer" and fib["parameters"]["n"]["maximum"] == 40
    _, _, body = server.request("GET", "/functions", headers=_as("admin"))
    assert {"fib", "echo", "whoami"} <= {f["name"] for f in json.loads(body)["functions"]}


@needs_root
def test_metrics_and_records_only_for_their_tenant_or_the_admin(server):
    _, alice_headers, _ = server.run("fib", {"n": 5}, headers=_as("alice"))
    _, bob_headers, _ = server.run("echo", {"y": 2}, headers=_as("bob"))
    alice_id, bob_id = alice_headers["X-Invocation-Id"], bob_headers["X-Invocation-Id"]
    status, _, body = server.request("GET", f"/invocations/{alice_id}", headers=_as("alice"))
    assert status == 200 and json.loads(body)["tenant"] == "alice" and json.loads(body)["status"] == "ok"
    status, _, body = server.request("GET", f"/invocations/{bob_id}", headers=_as("alice"))
    assert status == 404
    status, _, body = server.request("GET", f"/invocations/{bob_id}", headers=_as("admin"))
    assert status == 200 and json.loads(body)["function"] == "echo"
    _, _, text = server.request("GET", "/metrics", headers=_as("alice"))
    samples = [line for line in text.decode().splitlines() if not line.startswith("#")]
    assert samples and all('tenant="alice"' in line for line in samples)
    _, _, text = server.request("GET", "/metrics", headers=_as("admin"))
    assert 'tenant="bob"' in text.decode() and 'tenant="alice"' in text.decode()


def test_tenants_file_errors_name_the_field(tmp_path):
    path = tmp_path / "t.json"
    good = {"token_sha256": "a" * 64}
    cases = [
        ({"tenants": {"alice": {"token_sha256": "xyz"}}}, "tenants.alice.token_sha256"),
        ({"tenants": {"alice": {**good, "weight": -1}}}, "tenants.alice.weight"),
        ({"tenants": {"alice": {**good, "weight": float("nan")}}}, "tenants.alice.weight"),
        ({"tenants": {"alice": {**good, "functions": ["fib"]}, "bob": {**good, "functions": ["fib"]}}},
         "already listed under tenant 'alice'"),
        ({"tenants": {"../x": good}}, "tenants.../x: invalid tenant name"),
        ({"tenants": {"alice": {**good, "colour": 1}}}, "unknown key 'colour'"),
        ({"admin": {"token_sha256": 5}}, "admin.token_sha256"),
        ([], "expected an object"),
    ]
    for doc, needle in cases:
        path.write_text(json.dumps(doc))
        with pytest.raises(TenantsFileError) as info:
            Tenants.load(path)
        assert str(info.value).startswith(str(path)) and needle in str(info.value), (doc, str(info.value))
    path.write_text("{not json")
    with pytest.raises(TenantsFileError, match="not valid JSON"):
        Tenants.load(path)


def _sfs(*argv, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from sfs.cli import main; sys.exit(main())", *argv],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=60)


def test_tenants_add_prints_the_token_once_and_stores_only_its_hash(tmp_path):
    path = tmp_path / "tenants.json"
    done = _sfs("tenants", "add", "alice", "--file", str(path), "--functions", "fib,matmul", "--weight", "3")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert len(token) >= 40 and token not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = Tenants.load(path)
    assert loaded.authenticate(f"Bearer {token}").name == "alice"
    assert loaded.tenants["alice"].weight == 3 and loaded.tenants["alice"].functions == ["fib", "matmul"]
    assert _sfs("tenants", "add", "admin", "--file", str(path)).returncode == 0
    refused = _sfs("tenants", "add", "bob", "--file", str(path), "--functions", "fib")
    assert refused.returncode == 2 and "already listed under tenant 'alice'" in refused.stderr
    assert "bob" not in path.read_text()  # nothing written


@needs_root
def test_serve_refuses_unknown_listed_functions_and_open_non_loopback(tmp_path, functions_dir):
    path = tmp_path / "t.json"
    Tenants(None, {"alice": TenantEntry("b" * 64, 1, ["nosuch"])}).save(path)
    done = _sfs("serve", "--functions", str(functions_dir), "--tenants", str(path), "--port", "0")
    assert done.returncode == 2 and "tenants.alice.functions: no function 'nosuch'" in done.stderr
    done = _sfs("serve", "--functions", str(functions_dir), "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2 and "loopback only" in done.stderr


@needs_root
def test_open_mode_says_so_at_start(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir)
    try:
        assert server.run("echo", {"k": 1})[0] == 200
    finally:
        assert server.stop() == 0
    assert "no --tenants: any local client may call any function" in server.log.read_text()


def test_results_file_is_made_private_even_when_it_existed(tmp_path):
    from sfs.faas.records import HostRecord, ResultsWriter, read_results
    path = tmp_path / "results.csv"
    path.write_text("")
    os.chmod(path, 0o644)
    writer = ResultsWriter(path, t0=100.0)
    row = writer.write(HostRecord("i-1", "fib", "alice", 101.0, 101.5, 102.0, 0.5, cfs_s=0.5, pid=7,
                                  http_status=200, gateway_ms=0.4))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert row["arrival_s"] == 1.0 and row["slowdown"] == 2.0
    assert read_results(path)[0]["invocation_id"] == "i-1"  # already in the file before close()
    writer.close()
