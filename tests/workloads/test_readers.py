import math
from pathlib import Path

import pytest

from workloads.azure2019 import read_azure2019, sample_duration
from workloads.azure2021 import read_azure2021
from workloads.invocation import TraceError
from workloads.sfs_standalone import calibrate_fib_table, read_sfs_standalone, table_path_for
from workloads.traces import detect_format, load_trace

DATA = Path(__file__).resolve().parents[2] / "workloads" / "data"
AZ2019_INV = DATA / "azure" / "azure-functions-2019-example-invocations.csv"
AZ2019_DUR = DATA / "azure" / "azure-functions-2019-example-durations.csv"
AZ2021 = DATA / "azure" / "azure-functions-2021-sample200.csv"


def assert_names(exc: TraceError, path, line, field):
    text = str(exc)
    assert str(path) in text and f":{line}:" in text and repr(field) in text
    assert exc.line == line and exc.field == field


# Azure 2021

def test_azure2021_sample_is_sorted_by_start_and_keeps_every_row():
    invs = read_azure2021(AZ2021)
    assert len(invs) == 199
    assert [i.arrival_s for i in invs] == sorted(i.arrival_s for i in invs)
    assert min(i.duration_s for i in invs) == pytest.approx(0.001)  # the 0.000 rows
    assert len({i.id for i in invs}) == 199


def test_azure2021_arrival_is_end_minus_duration(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("app,func,end_timestamp,duration\na,f,10.5,2.5\na,g,3.0,0.000\n")
    invs = read_azure2021(p)
    assert [(i.function, i.arrival_s, i.duration_s) for i in invs] == [("g", 3.0, 0.001), ("f", 8.0, 2.5)]
    assert invs[0].tenant == "a"


@pytest.mark.parametrize("body,line,field", [
    ("app,func,end_timestamp,duration\na,f,1.0,0.5\na,f,x,0.5\n", 3, "end_timestamp"),
    ("app,func,end_timestamp,duration\na,f,1.0,-2\n", 2, "duration"),
    ("app,func,end_timestamp,duration\na,f,1.0,2.0\n", 2, "duration"),
    ("app,func,end_timestamp,duration\na,f,1.0\n", 2, "row"),
    ("app,func,end_timestamp,duration\n,f,1.0,0.5\n", 2, "app"),
    ("app,function,end,duration\n", 1, "header"),
])
def test_azure2021_malformed_lines_name_file_line_and_field(tmp_path, body, line, field):
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(TraceError) as info:
        read_azure2021(p)
    assert_names(info.value, p, line, field)


# Azure 2019

def test_azure2019_example_counts_and_duration_ranges():
    invs = read_azure2019(AZ2019_INV, AZ2019_DUR, seed=1)
    assert len(invs) == 1150 + 3 * 1125
    by_function = {}
    for i in invs:
        by_function.setdefault(i.function, []).append(i)
    assert len(by_function) == 4
    for calls in by_function.values():
        durations = [c.duration_s for c in calls]
        # every example function's percentiles lie within +-1 ms of its mean
        assert max(durations) - min(durations) <= 0.0021
    assert all(0 <= i.arrival_s < 230 * 60 for i in invs)
    assert [i.arrival_s for i in invs] == sorted(i.arrival_s for i in invs)


def test_azure2019_spreads_each_minute_inside_that_minute(tmp_path):
    inv = tmp_path / "x-invocations.csv"
    dur = tmp_path / "x-durations.csv"
    inv.write_text("HashOwner,HashApp,HashFunction,Trigger,1,2,3\no,a,f,http,0,4,1\n")
    dur.write_text("HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,"
                   "percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,"
                   "percentile_Average_99,percentile_Average_100\no,a,f,50,5,10,100,10,10,20,50,80,100,100\n")
    invs = load_trace(inv)  # durations file found beside it
    assert [60 <= i.arrival_s < 120 for i in invs].count(True) == 4
    assert [120 <= i.arrival_s < 180 for i in invs].count(True) == 1
    assert all(0.010 <= i.duration_s <= 0.100 for i in invs)


def test_sample_duration_interpolates_the_percentile_curve():
    points = [(0.0, 1.0), (0.01, 1.0), (0.25, 2.0), (0.5, 3.0), (0.75, 4.0), (0.99, 5.0), (1.0, 6.0)]
    assert sample_duration(points, 0.5) == pytest.approx(3.0)
    assert sample_duration(points, 0.375) == pytest.approx(2.5)
    assert sample_duration(points, 0.0) == pytest.approx(1.0)
    assert sample_duration(points, 1.0) == pytest.approx(6.0)


def test_azure2019_malformed_minute_count_and_missing_duration_row(tmp_path):
    inv = tmp_path / "invocations.csv"
    dur = tmp_path / "durations.csv"
    dur.write_text(AZ2019_DUR.read_text())
    header = "HashOwner,HashApp,HashFunction,Trigger,1,2\n"
    inv.write_text(header + "o,a,nosuch,http,1,2\n")
    with pytest.raises(TraceError) as info:
        read_azure2019(inv, dur)
    assert_names(info.value, inv, 2, "HashFunction")
    first = AZ2019_DUR.read_text().splitlines()[1].split(",")
    inv.write_text(header + f"{first[0]},{first[1]},{first[2]},http,1,two\n")
    with pytest.raises(TraceError) as info:
        read_azure2019(inv, dur)
    assert_names(info.value, inv, 2, "2")
    dur.write_text(AZ2019_DUR.read_text().replace("99.0,99.0,99.0,100.0", "99.0,99.0,99.0,abc", 1))
    with pytest.raises(TraceError) as info:
        read_azure2019(inv, dur)
    assert_names(info.value, dur, 2, "percentile_Average_50")


# SFS standalone

def write_sfs(tmp_path, rows, table="20 13\n25 30\n30 220\n"):
    trace = tmp_path / "mine-test.txt"
    trace.write_text(rows)
    (tmp_path / "mine-test-optimal.txt").write_text(table)
    return trace


def test_sfs_arrival_is_start_times_9ms_and_service_from_the_table(tmp_path):
    trace = write_sfs(tmp_path, "fib1 fib.py 30 5 1\nfib2 fib.py 20 7 2\nfib3 fib.py 25 7 3\n")
    invs = read_sfs_standalone(trace)
    assert [(i.id, i.arrival_s, i.duration_s) for i in invs] == [
        ("1", pytest.approx(0.045), 0.22), ("2", pytest.approx(0.063), 0.013), ("3", pytest.approx(0.063), 0.03)]
    assert invs[0].real_function == "fib" and invs[0].args == {"n": 30}
    assert table_path_for(trace).name == "mine-test-optimal.txt"
    assert detect_format(trace) == "sfs"


@pytest.mark.parametrize("rows,line,field", [
    ("fib1 fib.py 30 5 1\nfib2 fib.py 99 6 2\n", 2, "fibN"),
    ("fib1 fib.py 30 five 1\n", 1, "start"),
    ("fib1 fib.py 30 5\n", 1, "row"),
    ("fib1 fib.py 30 5 1\nfib2 fib.py 30 6 1\n", 2, "id"),
    ("fib1 fib.py 3x 5 1\n", 1, "fibN"),
])
def test_sfs_malformed_lines_name_file_line_and_field(tmp_path, rows, line, field):
    trace = write_sfs(tmp_path, rows)
    with pytest.raises(TraceError) as info:
        read_sfs_standalone(trace)
    assert_names(info.value, trace, line, field)


def test_sfs_malformed_table(tmp_path):
    trace = write_sfs(tmp_path, "fib1 fib.py 30 5 1\n", table="20 13\n25 ms\n")
    with pytest.raises(TraceError) as info:
        read_sfs_standalone(trace)
    assert_names(info.value, tmp_path / "mine-test-optimal.txt", 2, "ms")


def test_calibrated_fib_table_grows_by_the_golden_ratio():
    table = calibrate_fib_table(ns=range(20, 30), probe=range(15, 19), repeats=1)
    phi = (1 + math.sqrt(5)) / 2
    assert table[29] / table[28] == pytest.approx(phi)
    assert 0 < table[20] < 1.0


def test_unknown_format_is_an_error_naming_the_file(tmp_path):
    p = tmp_path / "what.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(TraceError) as info:
        detect_format(p)
    assert_names(info.value, p, 1, "header")
