"""`sfs load`: mapping a trace onto the library, open-loop sending, exact accounting."""
from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from faas_support import ROOT, start_server
from sfs.faas import loadgen
from sfs.faas.records import read_results
from workloads.invocation import Invocation

VARIANTS = [loadgen.Variant("fib", "small", 0.002, {"n": 20}), loadgen.Variant("fib", "medium", 0.015, {"n": 25}),
            loadgen.Variant("json_roundtrip", "medium", 0.05, {}), loadgen.Variant("gzip_compress", "medium", 0.06, {}),
            loadgen.Variant("markdown_render", "large", 1.1, {})]


def test_mapping_picks_the_nearest_service_time_on_a_log_scale():
    assert loadgen.pick_variant(VARIANTS, 0.016, "f")[0].size == "medium"
    assert loadgen.pick_variant(VARIANTS, 0.0021, "f") == (VARIANTS[0], False)
    # 50 and 60 ms are within a factor 1.5: the function id decides, stably.
    picks = {loadgen.pick_variant(VARIANTS, 0.055, f"fn-{k}")[0].function for k in range(40)}
    assert picks == {"json_roundtrip", "gzip_compress"}
    assert loadgen.pick_variant(VARIANTS, 0.055, "fn-3") == loadgen.pick_variant(VARIANTS, 0.055, "fn-3")
    variant, clamped = loadgen.pick_variant(VARIANTS, 60.0, "long-one")
    assert variant.function == "markdown_render" and clamped


def test_rate_and_load_rescaling():
    invs = [Invocation(str(k), f"f{k % 3}", "t", k * 0.5, 0.015) for k in range(11)]
    requests = loadgen.map_trace(invs, VARIANTS)
    loadgen.to_rate(requests, 4.0)
    assert requests[-1].arrival_s == pytest.approx(10 / 4.0)
    loadgen.to_load(requests, 0.5, cores=2)
    assert loadgen.offered_load(requests, 2) == pytest.approx(0.5)
    # A burst at the start: fitting the window, not the whole trace.
    bursty = [Invocation(str(k), "f", "t", 0.001 * k if k < 50 else 10 + k, 0.015) for k in range(100)]
    requests = loadgen.map_trace(bursty, VARIANTS)
    loadgen.fit_load(requests, 0.5, cores=1, window_s=2.0)
    assert loadgen.window_load(requests, 1, 2.0) == pytest.approx(0.5, rel=0.05)


def _sfs(*args, timeout=240):
    code = "import sys; from sfs.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def test_sfs_load_end_to_end_every_request_answered_and_recorded(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir)
    out = tmp_path / "load.csv"
    try:
        done = _sfs("load", "--url", server.url, "--trace", "synthetic", "--count", "25", "--rate", "25",
                    "--duration", "10", "--calibration-repeats", "1", "--rt-priority", "0", "--out", str(out),
                    "--no-progress")
        assert done.returncode == 0, done.stderr
    finally:
        assert server.stop() == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 25 and all(r["status"] == "200" for r in rows)
    assert all(r["function"] == "fib" for r in rows)  # the only library function served here
    assert "lost 0" in done.stdout and "short" in done.stdout
    # Open loop: requests went out at their scheduled times, not one after another.
    scheduled = [float(r["scheduled_s"]) for r in rows]
    sent = [float(r["sent_s"]) for r in rows]
    assert max(s - t for s, t in zip(sent, scheduled)) < 0.5
    records = {r["invocation_id"] for r in read_results(server.results)}
    assert {r["invocation_id"] for r in rows} <= records


def test_sfs_load_refuses_bad_input(tmp_path):
    missing = _sfs("load", "--url", "http://127.0.0.1:9", "--trace", str(tmp_path / "none.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad_url = _sfs("load", "--url", "ftp://x", "--trace", "synthetic")
    assert bad_url.returncode == 2 and "--url" in bad_url.stderr
    bad_rate = _sfs("load", "--url", "http://127.0.0.1:9", "--trace", "synthetic", "--rate", "-1")
    assert bad_rate.returncode == 2 and "--rate" in bad_rate.stderr
