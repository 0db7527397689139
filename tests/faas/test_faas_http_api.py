"""The HTTP API of `sfs serve` against a real server: every endpoint, every error code."""
from __future__ import annotations

import json
import re



def test_run_returns_the_function_result_with_invocation_headers(shared_server):
    status, headers, body = shared_server.run("fib", {"n": 10})
    assert status == 200
    assert body == {"n": 10, "fib": 55}
    assert re.fullmatch(r"[0-9a-f]+-\d+", headers["X-Invocation-Id"])
    assert headers["X-Tenant"] == "alice"  # TENANT registered in the module
    assert float(headers["X-CPU-Ms"]) > 0 and float(headers["X-Gateway-Ms"]) >= 0


def test_x_tenant_header_wins_and_is_validated(shared_server):
    status, headers, _ = shared_server.run("fib", {"n": 3}, headers={"X-Tenant": "zed"})
    assert status == 200 and headers["X-Tenant"] == "zed"
    status, _, body = shared_server.run("fib", {"n": 3}, headers={"X-Tenant": "../etc"})
    assert status == 400 and "X-Tenant" in body["error"]


def test_functions_lists_names_and_tenants(shared_server):
    status, _, body = shared_server.request("GET", "/functions")
    listing = {f["name"]: f["tenant"] for f in json.loads(body)["functions"]}
    assert status == 200
    assert listing["fib"] == "alice" and listing["text_stats"] == "carol" and listing["echo"] == "testers"


def test_healthz_reports_ok_and_policy(shared_server):
    status, _, body = shared_server.request("GET", "/healthz")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["policy"] == "cfs"
    assert health["warm"] == health["functions"] >= 8


def test_unknown_function_is_404_naming_it(shared_server):
    status, _, body = shared_server.run("no_such_function", {})
    assert status == 404
    assert body["function"] == "no_such_function" and "no_such_function" in body["error"]


def test_malformed_json_is_400(shared_server):
    status, _, body = shared_server.request("POST", "/run/echo", b"{not json")
    assert status == 400 and "malformed JSON" in json.loads(body)["error"]
    status, _, body = shared_server.request("POST", "/run/echo", b"[1, 2]")
    assert status == 400 and "object" in json.loads(body)["error"]


def test_body_over_the_limit_is_413(shared_server):
    big = json.dumps({"pad": "x" * 10_000}).encode()  # the fixture's limit is 4096 bytes
    status, _, body = shared_server.request("POST", "/run/echo", big)
    assert status == 413 and json.loads(body)["limit_bytes"] == 4096
    status, _, body = shared_server.request("POST", "/run/echo", json.dumps({"pad": "x" * 100}).encode())
    assert status == 200 and json.loads(body) == {"pad": "x" * 100}


def test_wrong_method_is_405_with_allow(shared_server):
    for method in ("GET", "PUT", "DELETE"):
        status, headers, body = shared_server.request(method, "/run/fib")
        assert status == 405, method
        assert headers["Allow"] == "POST" and json.loads(body)["allowed"] == ["POST"]
    status, headers, _ = shared_server.request("POST", "/functions", b"{}")
    assert status == 405 and "GET" in headers["Allow"]


def test_empty_body_is_an_empty_event(shared_server):
    status, _, body = shared_server.request("POST", "/run/echo", b"")
    assert status == 200 and json.loads(body) == {}


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse_prometheus(text: str) -> dict[str, list[tuple[dict, float]]]:
    """A strict reader of the text exposition format: every line must parse."""
    families: dict[str, str] = {}
    samples: dict[str, list[tuple[dict, float]]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            families[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"unparsable metrics line: {line!r}"
        name, labels_text, value = match.group(1), match.group(2) or "", match.group(3)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels_text))
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in families or base in families, f"sample {name} without # TYPE"
        samples.setdefault(name, []).append((labels, float(value)))
    return samples


def test_metrics_parse_and_count_invocations_per_tenant(shared_server):
    before = parse_prometheus(shared_server.request("GET", "/metrics")[2].decode())

    def count(samples, **want):
        return sum(v for labels, v in samples.get("sfs_faas_invocations_total", [])
                   if all(labels.get(k) == w for k, w in want.items()))

    for _ in range(3):
        assert shared_server.run("fib", {"n": 5}, headers={"X-Tenant": "metrics-tenant"})[0] == 200
    shared_server.run("no_such_function", {})
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # records (and so metrics) follow the responses closely
        status, headers, body = shared_server.request("GET", "/metrics")
        after = parse_prometheus(body.decode())
        if count(after, tenant="metrics-tenant") >= 3:
            break
        time.sleep(0.05)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert count(after, function="fib", tenant="metrics-tenant", status="ok") - \
        count(before, function="fib", tenant="metrics-tenant", status="ok") == 3
    rejected = {labels["reason"]: v for labels, v in after["sfs_faas_rejected_total"]}
    assert rejected["unknown_function"] >= 1
    buckets = [(labels["le"], v) for labels, v in after["sfs_faas_slowdown_bucket"]
               if labels["tenant"] == "metrics-tenant"]
    values = [v for _, v in buckets]
    assert values == sorted(values) and buckets[-1] == ("+Inf", 3)
    assert after["sfs_faas_queue_length"][0][1] == 0
    cpu = {labels["tenant"]: v for labels, v in after["sfs_faas_cpu_seconds_total"]}
    assert cpu["metrics-tenant"] > 0


def test_new_tenants_are_bounded(tmp_path, functions_dir):
    from faas_support import start_server
    server = start_server(tmp_path, functions_dir, "--max-tenants", "3")  # fib's alice, testers, +1
    try:
        assert server.run("echo", {}, headers={"X-Tenant": "third"})[0] == 200
        status, _, body = server.run("echo", {}, headers={"X-Tenant": "fourth"})
        assert status == 400 and "--max-tenants" in body["error"]
        assert server.run("echo", {}, headers={"X-Tenant": "third"})[0] == 200  # known ones still work
        assert server.run("fib", {"n": 3})[0] == 200
    finally:
        assert server.stop() == 0
