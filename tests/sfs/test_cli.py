import csv

from sfs.cli import main


def test_replay_reports_a_malformed_trace_line_without_traceback(tmp_path, capsys):
    trace = tmp_path / "t.csv"
    trace.write_text("app,func,end_timestamp,duration\na,f,1.0,0.5\na,f,2.0,oops\n")
    assert main(["replay", str(trace), "--policy", "cfs", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{trace}:3: field 'duration'" in err and "Traceback" not in err


def test_replay_rejects_too_many_cores_and_missing_files(tmp_path, capsys):
    assert main(["replay", "synthetic", "--cores", "999"]) == 2
    assert main(["replay", str(tmp_path / "nope.txt")]) == 2
    err = capsys.readouterr().err
    assert "--cores" in err and "no such trace file" in err


def test_oracle_replay_writes_the_documented_columns(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["replay", "synthetic", "--policy", "srtf-oracle", "--cores", "1", "--limit", "30",
                 "--out", str(out), "--no-progress"]) == 0
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30
    for column in ("invocation_id,function,tenant,arrival_s,start_s,end_s,cpu_s,fifo_s,cfs_s,demoted,"
                   "bypassed,slowdown").split(","):
        assert column in rows[0]
    assert "short" in capsys.readouterr().out


def test_tenant_options_are_checked_before_anything_runs(capsys):
    assert main(["replay", "synthetic", "--policy", "sfs-tenant", "--tenant-shares", "t0=3,t1=oops",
                 "--limit", "4", "--no-progress"]) == 2
    assert main(["replay", "synthetic", "--policy", "sfs", "--tenant-shares", "t0=3",
                 "--limit", "4", "--no-progress"]) == 2
    assert main(["replay", "synthetic", "--policy", "cfs", "--tenants", "0", "--limit", "4", "--no-progress"]) == 2
    assert main(["bench", "--policies", "cfs,srtf-oracle"]) == 2
    err = capsys.readouterr().err
    assert "weight of 't1' is not a number" in err and "does not weigh tenants" in err
    assert "--tenants must be between" in err and "not a runnable policy" in err


def test_tenants_round_robin_reach_the_records(tmp_path):
    out = tmp_path / "r.csv"
    assert main(["replay", "synthetic", "--policy", "srtf-oracle", "--tenants", "3", "--limit", "9",
                 "--out", str(out), "--no-progress"]) == 0
    with open(out) as f:
        tenants = sorted(row["tenant"] for row in csv.DictReader(f))
    assert tenants == ["t0"] * 3 + ["t1"] * 3 + ["t2"] * 3


def test_serve_follows_the_agent_when_it_publishes(tmp_path, monkeypatch):
    import argparse

    from sfs.commands.serve import choose_policy
    from sfs.policies.sfs_tenant import FixedShares, PublishedShares
    from sharekit.shares import PublishedShares as Published, TenantShare, default_path, publish
    monkeypatch.setenv("SHAREKIT_RUN_DIR", str(tmp_path))

    def args(**kw):
        return argparse.Namespace(**{"policy": None, "node": "node0", "tenant_shares": None, **kw})

    assert choose_policy(args()) == ("sfs", None)                      # no agent: plain sfs
    publish(default_path("node0"), Published("node0", 1, 0.0, {"a": TenantShare(150, 0.75)}))
    name, shares = choose_policy(args())
    assert name == "sfs-tenant" and isinstance(shares, PublishedShares) and shares.current() == {"a": 1.0}
    assert choose_policy(args(node="node1")) == ("sfs", None)          # another node's agent
    assert choose_policy(args(policy="cfs")) == ("cfs", None)          # asked for explicitly
    name, shares = choose_policy(args(tenant_shares="a=1,b=1"))
    assert name == "sfs-tenant" and isinstance(shares, FixedShares)
