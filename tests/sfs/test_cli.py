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
