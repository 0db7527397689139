import json
from pathlib import Path

import pytest

from fairshare.cli import main

EX = Path(__file__).resolve().parents[2] / "examples" / "problems"


def test_allocate_json(capsys):
    assert main(["allocate", str(EX / "ex3.json"), "--policy", "psdsf", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tasks"] == {"u0": 8, "u1": 8, "u2": 16}
    assert sum(data["placement"]["u2"].values()) == 16
    assert "S2" not in data["placement"]["u2"]  # u2 is constrained to pool main
    assert data["utilisation"]["mem"] == pytest.approx(1.0)
    assert set(data["shares"]) == {"u0", "u1", "u2"}


def test_allocate_table(capsys):
    assert main(["allocate", str(EX / "drf-paper.json"), "--policy", "drf"]) == 0
    out = capsys.readouterr().out
    assert "utilisation: cpu 100.00%  mem 77.78%" in out
    assert "A" in out and "B" in out


def test_compare_lists_every_policy(capsys):
    assert main(["compare", str(EX / "ex1.yaml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    from fairshare.policies import policy_names
    assert set(data) == set(policy_names())
    assert data["psdsf"]["sum_tasks"] == 20
    assert data["maxmin_fluid"]["min_share_gap"] == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("argv,msg", [
    (["allocate", "missing.json"], "cannot read"),
    (["allocate", str(EX / "ex1.yaml"), "--policy", "nope"], "unknown policy"),
    (["simulate", "--knob", "1.5"], "--knob"),
    (["simulate", "--model", "tasks", "--trace", "synthetic", "--policy", "nope"], "simulator policy"),
    (["simulate", "--trace", "synthetic", "--policy", "nope"], "GPU policy 'nope'"),
    (["simulate", "--trace", "synthetic", "--load", "0"], "--load"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, msg):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and "\n" not in err


def test_bad_problem_file(tmp_path, capsys):
    bad = tmp_path / "p.yaml"
    bad.write_text("servers:\n  - {name: s, capacity: {cpu: -1}}\nframeworks:\n  - {name: f, demand: {cpu: 1}}\n")
    assert main(["allocate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "negative capacity" in err and "'s'" in err


def test_simulate_synthetic_writes_plots(tmp_path, capsys):
    assert main(["simulate", "--model", "tasks", "--trace", "synthetic", "--jobs", "20", "--servers", "5",
                 "--policy", "drf,themis",
                 "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "themis" in out and "mean JCT" in out
    for f in ("utilisation.png", "dominant_shares.png", "jct_cdf.png", "summary.json"):
        assert (tmp_path / f).stat().st_size > 0
    assert (tmp_path / "utilisation.png").read_bytes()[:4] == b"\x89PNG"


def test_policies_lists_names(capsys):
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    for name in ("drf", "drfh", "bfdrf", "tsf", "psdsf", "rpsdsf", "psdsf_rr", "maxmin", "pf"):
        assert f"\n{name} " in "\n" + out


def test_bench_small(capsys):
    assert main(["bench", "--only", "b", "--servers", "60", "--frameworks", "12", "--policies", "drf,psdsf,maxmin"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "peak RSS" in out and "psdsf" in out


def test_bench_cli_section_runs_the_command_end_to_end(capsys):
    from fairshare.policies import get_policy
    from fairshare.workload import synthetic_problem
    main(["bench", "--only", "cli", "--servers", "60", "--frameworks", "8", "--policies", "drf,psdsf"])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("drf ", "psdsf "))}
    p = synthetic_problem(60, 8, 4, 0.3, 0)
    for name in ("drf", "psdsf"):
        # The subprocess's JSON reports the same allocation as the in-process policy.
        assert int(rows[name][4]) == int(get_policy(name)(p, 0).sum_tasks())


def test_bench_scale_and_online_sections(capsys):
    assert main(["bench", "--only", "scale", "--only", "online", "--sizes", "40x8,80x12", "--servers", "60",
                 "--frameworks", "10", "--policies", "drfh,psdsf,rpsdsf", "--reference-limit", "10"]) == 0
    out = capsys.readouterr().out
    assert "growth exponent" in out and "peak RSS" in out
    assert "40x8" in out and "80x12" in out
    assert "not checked" in out  # the 2 s target's size is not in this grid
    online = out[out.index("online:"):]
    assert online.count("yes") == 6 and "NO" not in online  # every event equals a full re-fill
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "10by3"])
