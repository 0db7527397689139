"""The arithmetic of the end-to-end run: windows, convergence, offered load (no cgroups)."""
import math

import pytest

from fairshare.e2e.measure import convergence_time, window_shares
from fairshare.e2e.workload import LoadConfig, offered_cores, tenant_jobs


def test_window_shares_use_the_increase_between_the_window_ends():
    samples = [(0.0, {"a": 10.0, "b": 0.0}), (1.0, {"a": 13.0, "b": 1.0}), (2.0, {"a": 16.0, "b": 2.0})]
    assert window_shares(samples, 1.0, 2.0) == pytest.approx({"a": 0.75, "b": 0.25})
    assert window_shares(samples, 0.0, 2.0) == pytest.approx({"a": 0.75, "b": 0.25})


def test_a_tenant_missing_at_the_end_drops_out():
    samples = [(0.0, {"a": 0.0, "b": 0.0}), (1.0, {"a": 1.0, "b": 1.0}), (2.0, {"a": 3.0})]
    assert window_shares(samples, 1.0, 2.0) == {"a": 1.0}


def test_no_usage_gives_nan_not_a_division_error():
    shares = window_shares([(0.0, {"a": 1.0}), (1.0, {"a": 1.0})], 0.0, 1.0)
    assert math.isnan(shares["a"])


def test_convergence_is_the_first_window_that_stays_within_tolerance():
    # a gets 50% until t=4, then 75%; samples every 0.5 s
    samples, a, b = [], 0.0, 0.0
    for k in range(21):
        t = k * 0.5
        samples.append((t, {"a": a, "b": b}))
        share = 0.5 if t < 4 else 0.75
        a += 0.5 * share
        b += 0.5 * (1 - share)
    # a 1 s window after t=4 first lies wholly in the new regime at t=5
    assert convergence_time(samples, 4.0, {"a": 0.75, "b": 0.25}, 1.0, 0.05) == pytest.approx(1.0)
    assert convergence_time(samples, 4.0, {"a": 0.9, "b": 0.1}, 1.0, 0.05) is None


def test_a_relapse_resets_convergence():
    samples, a = [], 0.0
    shares = [0.75, 0.75, 0.75, 0.5, 0.75, 0.75]   # per second; the dip at t=3..4
    for k, share in enumerate(shares):
        samples.append((float(k), {"a": a, "b": k - a}))
        a += share
    samples.append((6.0, {"a": a, "b": 6 - a}))
    assert convergence_time(samples, 0.0, {"a": 0.75, "b": 0.25}, 1.0, 0.05) == pytest.approx(5.0)


def test_every_tenant_offers_overload_times_its_share_or_its_largest_when_shares_change():
    shares = {"a": 1 / 6, "b": 2 / 6, "c": 3 / 6}
    assert offered_cores("a", shares, 2, LoadConfig(overload=1.5)) == pytest.approx(0.5)
    assert sum(offered_cores(t, shares, 2, LoadConfig(overload=1.5)) for t in shares) == pytest.approx(3.0)
    config = LoadConfig(overload=1.5, per_share=False)
    largest = {"a": 1 / 6, "b": 0.5, "c": 0.5}     # b's share grows to 0.5 later in the run
    assert offered_cores("b", shares, 1, config, largest) == pytest.approx(0.75)
    assert offered_cores("c", shares, 1, config, largest) == pytest.approx(0.75)
    assert offered_cores("a", shares, 1, config) == pytest.approx(0.25)   # nothing planned: its share now
    load = offered_cores("a", shares, 1, config, {"a": 0.5})
    assert load == pytest.approx(0.75)
    jobs = tenant_jobs("node0", "a", load, 400.0, config)
    offered = sum(j["burn"] for j in jobs) / 400.0
    assert offered == pytest.approx(load, rel=0.1)
    assert {j["burn"] for j in jobs} == {config.short_s, config.long_s}
    assert all(0 < j["at"] < 400 for j in jobs)
    assert jobs == tenant_jobs("node0", "a", load, 400.0, config)          # repeatable
    assert jobs != tenant_jobs("node1", "a", load, 400.0, config)          # independent per node


def test_bad_load_settings_are_refused():
    with pytest.raises(ValueError):
        LoadConfig(short_s=0.3, long_s=0.2)


def test_the_node_scheduler_policy_is_looked_up_by_name(capsys):
    from fairshare.e2e.worker import FALLBACK_POLICY, choose_policy
    _, name = choose_policy("cfs", None)
    assert name == "cfs"
    assert capsys.readouterr().err == ""
    _, name = choose_policy("no-such-policy", None)
    assert name == FALLBACK_POLICY
    assert "'no-such-policy' is not available" in capsys.readouterr().err
    choose_policy("no-such-policy", None, quiet=True)
    assert capsys.readouterr().err == ""


def test_the_plot_marks_where_each_node_converged_or_that_it_never_did():
    from types import SimpleNamespace

    from fairshare.e2e.report import convergence_marks

    samples, a = [], 0.0
    for k in range(11):                      # a: 0.5 until t=4, 0.75 after
        samples.append((float(k), {"a": a, "b": k - a}))
        a += 0.5 if k < 4 else 0.75
    run = SimpleNamespace(config=SimpleNamespace(cycle_s=1.0, seconds=10.0))
    settled = SimpleNamespace(samples_cpu=samples, targets=[(0.0, {"a": 0.5, "b": 0.5}), (4.0, {"a": 0.75, "b": 0.25})])
    assert convergence_marks(settled, run) == [(5.0, "converged +1.0 s")]
    never = SimpleNamespace(samples_cpu=samples, targets=[(0.0, {"a": 0.5, "b": 0.5}), (4.0, {"a": 0.9, "b": 0.1})])
    assert convergence_marks(never, run) == [(10.0, "never converged")]


def test_steady_window_noise_is_the_worst_single_cycle_error_before_the_change():
    from types import SimpleNamespace

    from fairshare.e2e.report import steady_window_noise

    samples, a = [], 0.0
    per_second = [0.5, 0.5, 0.5, 0.6, 0.5, 0.45, 0.5, 0.8, 0.8, 0.8]   # a's share in each second
    for k, share in enumerate(per_second):
        samples.append((float(k), {"a": a, "b": k - a}))
        a += share
    samples.append((10.0, {"a": a, "b": 10 - a}))
    config = SimpleNamespace(cycle_s=1.0, seconds=10.0, warmup_s=2.0, load=SimpleNamespace(short_s=0.01))
    run = SimpleNamespace(config=config)
    node = SimpleNamespace(samples_cpu=samples, samples_lock=[], records=[],
                           targets=[(0.0, {"a": 0.5, "b": 0.5}), (7.0, {"a": 0.8, "b": 0.2})])
    # steady 2-7 s: the windows ending at 3..7 s hold 0.5, 0.6, 0.5, 0.45, 0.5 -> worst 0.1
    assert steady_window_noise(node, run) == pytest.approx(0.1)


def test_the_run_plans_each_tenants_largest_share_over_its_events():
    from fairshare.commands.e2e import DEFAULT_PROBLEM
    from fairshare.e2e.run import Event, largest_shares
    from fairshare.model import load_problem

    problem = load_problem(DEFAULT_PROBLEM)
    tenants = {f.name for f in problem.frameworks}
    largest = largest_shares(problem, tenants, [Event(10.0, "leave", "alice")], "psdsf")
    # psdsf places 1:2:3 on both nodes; without alice, node0 2:4 and node1 3:3 (docs/link.md)
    assert largest["node0"] == pytest.approx({"alice": 1 / 6, "bob": 1 / 3, "carol": 2 / 3}, abs=0.01)
    assert largest["node1"] == pytest.approx({"alice": 1 / 6, "bob": 1 / 2, "carol": 1 / 2}, abs=0.01)


def test_a_tenant_missing_from_the_first_sample_counts_from_zero():
    # b's lock thread reached the statistics file only after the window opened
    samples = [(0.0, {"a": 1.0}), (1.0, {"a": 2.0}), (2.0, {"a": 3.0, "b": 0.5}), (3.0, {"a": 4.0, "b": 2.0})]
    shares = window_shares(samples, 1.0, 3.0)
    assert shares == {"a": 0.5, "b": 0.5}
    # one that left before the window closed is not in it
    assert window_shares([(0.0, {"a": 1.0, "c": 1.0}), (1.0, {"a": 2.0})], 0.0, 1.0) == {"a": 1.0}
