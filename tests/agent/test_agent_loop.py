"""The agent loop against fake cgroup trees: decisions applied, published, kept, reset."""
from __future__ import annotations

import http.server
import json
import threading

import pytest

from agent import AgentLoop, DecisionError, DecisionSource, NodeAgent, parse_decision
from sharekit import shares

from agent_support import fake_v1, fake_v2, parent_name


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def write_decision(path, per_server):
    path.write_text(json.dumps(per_server))


@pytest.mark.parametrize("make", [fake_v1, fake_v2], ids=["v1", "v2"])
def test_decisions_are_applied_published_kept_and_reset(tmp_path, make):
    root = make(tmp_path / "cg")
    decision = tmp_path / "decision.json"
    write_decision(decision, {"n0": {"a": {"cpu": 3.0}, "b": {"cpu": 1.0}}, "n1": {"c": {"cpu": 1.0}}})
    clock = FakeClock()
    parent = parent_name("loop")
    loop = AgentLoop(NodeAgent("n0", parent=parent, root=root), str(decision), stale_after_s=5.0,
                     publish_path=tmp_path / "n0.json", clock=clock)
    try:
        first = loop.step()
        assert (first.event, first.version, first.weights) == ("applied", 1, {"a": 150, "b": 50})
        cpu = root / "cpu" / parent if make is fake_v1 else root / parent
        knob, scale = ("cpu.shares", 1024 / 100) if make is fake_v1 else ("cpu.weight", 1)
        assert int((cpu / "a" / knob).read_text()) == round(150 * scale)
        published = shares.read(tmp_path / "n0.json")
        assert published.version == 1 and published.shares() == {"a": 0.75, "b": 0.25}
        assert published.tenants["a"].cgroup == f"{parent}/a"
        assert published.cgroup_version == (1 if make is fake_v1 else 2)

        assert loop.step().event == "unchanged" and shares.read(tmp_path / "n0.json").version == 1

        # The whole allocate output is accepted too; b leaves, c arrives on this node.
        write_decision(decision, {"policy": "drf", "per_server": {"n0": {"a": {"cpu": 1.0}, "c": {"cpu": 1.0}}}})
        second = loop.step()
        assert (second.event, second.version, second.weights) == ("applied", 2, {"a": 100, "c": 100})
        assert not (cpu / "b").exists()
        assert int((cpu / "a" / knob).read_text()) == round(100 * scale)

        decision.write_text("{broken")
        clock.now += 4.0
        kept = loop.step()
        assert kept.event == "kept" and "not JSON" in kept.message and kept.version == 2

        write_decision(decision, {"n0": {"a": {"cpu": 9.0}, "c": {"cpu": 1.0}}})
        assert loop.step().version == 3          # a valid decision restarts the stale clock
        decision.unlink()
        clock.now += 5.0
        assert loop.step().event == "kept"       # not yet stale: exactly the timeout
        clock.now += 0.5
        reset = loop.step()
        assert (reset.event, reset.version, reset.weights) == ("reset", 4, {"a": 100, "c": 100})
        assert shares.read(tmp_path / "n0.json").shares() == {"a": 0.5, "c": 0.5}
        clock.now += 60
        assert loop.step().version == 4, "the reset is published once"
    finally:
        loop.stop()
    assert not (tmp_path / "n0.json").exists(), "stop() withdraws the published shares"
    assert not list(root.rglob(parent))


def test_decision_source_rejects_hostile_input(tmp_path):
    with pytest.raises(DecisionError, match="not a loopback"):
        DecisionSource("http://192.0.2.1/decision")
    with pytest.raises(DecisionError, match="only http://"):
        DecisionSource("file:///etc/passwd")
    with pytest.raises(DecisionError, match=r"tenant '\.\./x': invalid tenant name"):
        parse_decision({"n0": {"../x": {"cpu": 1}}}, "d.json")
    with pytest.raises(DecisionError, match=r"server 'n0' tenant 'a': invalid amount -1 for 'cpu'"):
        parse_decision({"n0": {"a": {"cpu": -1}}}, "d.json")
    with pytest.raises(DecisionError, match="invalid amount True"):
        parse_decision({"n0": {"a": {"cpu": True}}}, "d.json")
    with pytest.raises(DecisionError, match="expected an object"):
        parse_decision([1, 2], "d.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * ((4 << 20) + 1))
    with pytest.raises(DecisionError, match="larger than"):
        DecisionSource(str(big)).fetch()


def test_missing_server_keeps_the_last_decision(tmp_path):
    root = fake_v2(tmp_path / "cg")
    decision = tmp_path / "d.json"
    write_decision(decision, {"n0": {"a": {"cpu": 1.0}}})
    loop = AgentLoop(NodeAgent("n0", parent=parent_name("missing"), root=root), str(decision),
                     publish_path=tmp_path / "n0.json")
    try:
        assert loop.step().event == "applied"
        write_decision(decision, {"other": {"a": {"cpu": 1.0}}})
        kept = loop.step()
        assert kept.event == "kept" and "no server 'n0'" in kept.message and kept.weights == {"a": 100}
    finally:
        loop.stop()


def test_http_source_on_loopback_and_a_dead_allocator(tmp_path):
    body = {"value": json.dumps({"n0": {"a": {"cpu": 1.0}, "b": {"cpu": 3.0}}}).encode()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body["value"])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/decision"
    clock = FakeClock()
    loop = AgentLoop(NodeAgent("n0", parent=parent_name("http"), root=fake_v2(tmp_path / "cg")), url,
                     interval_s=0.5, stale_after_s=2.0, publish_path=tmp_path / "n0.json", clock=clock)
    try:
        assert loop.step().weights == {"a": 50, "b": 150}
        server.shutdown()
        server.server_close()
        clock.now += 1.0
        kept = loop.step()
        assert kept.event == "kept" and "unreachable" in kept.message
        clock.now += 1.5
        assert loop.step().weights == {"a": 100, "b": 100}
    finally:
        loop.stop()


def test_second_agent_on_the_same_parent_is_refused(tmp_path):
    from sharekit.cgroups import CgroupError
    root = fake_v2(tmp_path / "cg")
    parent = parent_name("owned")
    with NodeAgent("n0", parent=parent, root=root) as first:
        first.set_weights({"a": 100})
        with pytest.raises(CgroupError, match="owned by another running agent"):
            NodeAgent("n0", parent=parent, root=root).set_weights({"a": 100})
        assert first.weights() == {"a": 100}


def test_a_failed_cgroup_write_is_retried_next_cycle(tmp_path):
    root = fake_v2(tmp_path / "cg")
    parent = parent_name("retry")
    blocker = root / parent / "a" / "cpu.weight"
    blocker.mkdir(parents=True)          # writing the weight fails: it is a directory
    decision = tmp_path / "d.json"
    write_decision(decision, {"n0": {"a": {"cpu": 1.0}, "b": {"cpu": 3.0}}})
    loop = AgentLoop(NodeAgent("n0", parent=parent, root=root), str(decision), publish_path=tmp_path / "n0.json")
    try:
        failed = loop.step()
        assert failed.event == "error" and "cpu.weight" in failed.message and failed.version == 0
        assert not (tmp_path / "n0.json").exists(), "nothing is published that was not applied"
        blocker.rmdir()
        retried = loop.step()
        assert (retried.event, retried.version, retried.weights) == ("applied", 1, {"a": 50, "b": 150})
    finally:
        loop.stop()


def test_the_command_on_a_fake_tree(tmp_path, private_run_dir):
    import os
    import subprocess
    import sys
    root = fake_v2(tmp_path / "cg")
    decision = tmp_path / "d.json"
    write_decision(decision, {"policy": "psdsf", "per_server": {"node0": {"alice": {"cpu": 12.0}, "bob": {"cpu": 4.0}}}})
    env = {**os.environ, "SHAREKIT_CGROUP_ROOT": str(root), "SHAREKIT_RUN_DIR": str(private_run_dir)}
    out = subprocess.run([sys.executable, "-m", "fairshare.cli", "agent", "--node", "node0", "--decision", str(decision),
                          "--interval", "0.05", "--count", "3", "--parent", parent_name("cli"), "-j"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines == [{"event": "applied", "version": 1, "weights": {"alice": 150, "bob": 50},
                      "message": f"decision from {decision}"}]
    assert not (private_run_dir / "agents" / "node0.json").exists(), "withdrawn at exit"
    assert not list(root.rglob(parent_name("cli")))

    bad = subprocess.run([sys.executable, "-m", "fairshare.cli", "agent", "--node", "node0", "--decision",
                          "http://192.0.2.1/d"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not a loopback address" in bad.stderr
