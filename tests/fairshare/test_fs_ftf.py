"""GPU finish-time fairness: the job model, rho, the Themis auction
(knob, lease, bids, partial-allocation withholding), the baselines and
`fairshare simulate --model gpu`."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fairshare.cli import main
from fairshare.ftf import themis
from fairshare.ftf.baselines import DRF, LAS, GavelFTF, ftf_shares
from fairshare.ftf.jobs import GpuJob, GpuServer, alibaba_gpu_cluster, alibaba_gpu_jobs, synthetic_gpu_jobs
from fairshare.ftf.sim import GpuSimulator, View
from fairshare.ftf.themis import Bid, Themis, partial_allocation, valuation


def _view(jobs, servers, remaining=None, now=0.0, lease=300.0, contention=None):
    J = len(jobs)
    return View(now, lease, servers, jobs, np.arange(J), np.array(remaining or [j.duration for j in jobs], float),
                np.zeros(J), np.zeros(J), np.zeros(J), np.array(contention or [float(J)] * J), {})


# ---- rho ------------------------------------------------------------------------------------------

def test_rho_alone_is_one_and_two_gangs_share_hand_computed():
    one = [GpuServer("a", 8, "G2")]
    res = GpuSimulator(one, [GpuJob("x", 0.0, 8, 600.0)], DRF(), lease=300).run()
    assert res.rho["x"] == pytest.approx(1.0) and res.finish["x"] == pytest.approx(600.0)
    # Two 8-GPU jobs on 8 GPUs: the first runs [0, 600) with N = 2 throughout:
    # T_ind = 600 * 8 * 2 / 8 = 1200, rho = 0.5.  The second runs [600, 1200);
    # N averages (2 * 600 + 1 * 600) / 1200 = 1.5: T_ind = 900, rho = 1200 / 900.
    jobs = [GpuJob("a", 0.0, 8, 600.0), GpuJob("b", 0.0, 8, 600.0)]
    res = GpuSimulator(one, jobs, DRF(), lease=300).run()
    assert res.rho["a"] == pytest.approx(0.5) and res.rho["b"] == pytest.approx(4 / 3)
    s = res.summary()
    assert s["max_rho"] == pytest.approx(4 / 3) and s["unfair_fraction"] == 0.5
    assert s["gpu_utilisation"] == pytest.approx(1.0) and s["makespan"] == pytest.approx(1200.0)
    assert s["jain_rho"] == pytest.approx((0.5 + 4 / 3) ** 2 / (2 * (0.25 + 16 / 9)))


def test_spreading_a_gang_slows_it_by_its_placement_sensitivity():
    two = [GpuServer("a", 4, "V100M32"), GpuServer("b", 4, "V100M32")]
    job = GpuJob("x", 0.0, 8, 600.0, sensitivity=0.5)
    slow = job.slowdown({"V100M32"})
    assert slow == pytest.approx(1.3)  # 1 + 0.5 * (1.6 - 1)
    assert job.slowdown({"T4", "V100M32"}) == pytest.approx(slow)  # worst model applies
    res = GpuSimulator(two, [job], DRF(), lease=100).run()
    assert res.finish["x"] == pytest.approx(600.0 * slow)


def test_arrivals_wait_for_the_next_lease():
    res = GpuSimulator([GpuServer("a", 8, "G2")], [GpuJob("x", 10.0, 1, 100.0)], Themis(), lease=300).run()
    assert res.finish["x"] == pytest.approx(400.0)  # granted at the 300 s boundary


# ---- the auction ------------------------------------------------------------------------------------

def test_knob_selects_the_worst_rho_fraction():
    jobs = [GpuJob(f"j{k}", 0.0, 1, d) for k, d in enumerate([100.0, 500.0, 200.0, 500.0, 50.0])]
    view = _view(jobs, [GpuServer("a", 8, "G2")], now=100.0)
    # rho_now = (100 + d) / d: worst are the shortest jobs.
    assert themis.bidders(view, 0.6) == [4, 0]        # ceil(0.4 * 5) = 2
    assert themis.bidders(view, 0.0) == [4, 0, 2, 1, 3]
    assert len(themis.bidders(view, 0.99)) == 1


def test_valuation_hand_computed():
    job = GpuJob("x", 0.0, 2, 1000.0)
    view = _view([job], [GpuServer("a", 8, "G2")], remaining=[600.0], now=100.0)
    # nothing this lease: 100 + 300 + 600 = 1000; packed: 100 + 300 + 300 = 700.
    assert valuation(view, 0, 1.0) == pytest.approx(1000 / 700)
    # spread at half speed: runs 300 s doing 150 s of work: 100 + 300 + 450.
    assert valuation(view, 0, 0.5) == pytest.approx(1000 / 850)
    # a job that finishes inside the lease: 100 + 50.
    view.remaining[0] = 50.0
    assert valuation(view, 0, 1.0) == pytest.approx((100 + 300 + 50) / 150)


OFFER = ([Bid(0, 4, 2.0), Bid(1, 2, 1.5), Bid(2, 2, 1.5)], np.array([4]), ["G2"])


def test_partial_allocation_hand_computed():
    # Nash welfare: A alone 2 < B and C 2.25, so B and C win.  Without B the
    # best is A alone (2), so c_B = V_C / 2 = 0.75; likewise c_C = 0.75.
    bids, free, models = OFFER
    awards = partial_allocation(bids, free, models)
    assert sorted(a.bid.job for a in awards) == [1, 2]
    assert all(a.keep == pytest.approx(0.75) and a.server == 0 for a in awards)
    val, choice = themis._milp(bids, free, models)
    assert val == pytest.approx(2 * math.log(1.5)) and [c[1] for c in choice] == [None, 0, 0]


def test_truthful_report_maximises_the_bidders_utility():
    # Utility as in the partial-allocation mechanism: the kept fraction times
    # the true valuation of the bundle; losing is worth V(nothing) = 1.
    bids, free, models = OFFER
    for k, b in enumerate(bids):
        def utility(report):
            lie = bids[:k] + [Bid(b.job, b.gpus, report)] + bids[k + 1:]
            won = [a for a in partial_allocation(lie, free, models) if a.bid.job == b.job]
            return won[0].keep * b.packed if won else 1.0  # V(nothing) = 1
        truth = utility(b.packed)
        assert all(utility(r) <= truth + 1e-12 for r in (1.01, 1.2, 1.6, 2.5, 10.0))


@st.composite
def offers(draw):
    servers = draw(st.lists(st.sampled_from([2, 4, 8]), min_size=1, max_size=3))
    models = [draw(st.sampled_from(["G2", "T4"])) for _ in servers]
    bids = []
    for k in range(draw(st.integers(1, 5))):
        g = draw(st.sampled_from([1, 2, 4, 8]))
        spread = {m: draw(st.floats(1.01, 3.0)) for m in set(models) if models.count(m) > 1 and
                  draw(st.booleans())}
        bids.append(Bid(k, g, draw(st.floats(1.01, 4.0)), spread))
    return bids, np.array(servers), models


@settings(max_examples=60, deadline=None)
@given(offers())
def test_milp_winner_determination_matches_exact_search(offer):
    bids, free, models = offer
    exact_val, exact_choice = themis._exact_search(bids, free, models)
    milp_val, milp_choice = themis._milp(bids, free, models)
    assert milp_val == pytest.approx(exact_val, abs=1e-7)
    assert themis._feasible(milp_choice, bids, free, models)


@settings(max_examples=40, deadline=None)
@given(offers(), st.integers(0, 4), st.floats(0.2, 5.0))
def test_partial_allocation_is_truthful_on_random_offers(offer, who, factor):
    bids, free, models = offer
    k = who % len(bids)
    b = bids[k]

    def utility(report_packed, report_spread):
        lie = bids[:k] + [Bid(b.job, b.gpus, report_packed, report_spread)] + bids[k + 1:]
        for a in partial_allocation(lie, free, models):
            if a.bid.job == b.job:
                return a.keep * (b.packed if a.server is not None else b.spread[a.model])
        return 1.0  # V(nothing) = 1
    lie = (max(1.001, b.packed * factor), {m: max(1.001, v * factor) for m, v in b.spread.items()})
    assert utility(*lie) <= utility(b.packed, b.spread) * (1 + 1e-9) + 1e-12


def test_withheld_part_of_a_lease_goes_to_the_next_worst_job():
    # One 4-GPU server, lease 300 s, at time 0.  V = (300 + d) / (300 + d - run):
    # b, c (2 GPUs, 400 s): 700/400 = 1.75; d (4 GPUs, 300 s): 600/300 = 2;
    # e (2 GPUs, 10,000 s): 10300/10000 = 1.03.
    server = [GpuServer("a", 4, "G2")]
    jobs = [GpuJob("b", 0.0, 2, 400.0), GpuJob("c", 0.0, 2, 400.0), GpuJob("d", 0.0, 4, 300.0),
            GpuJob("e", 0.0, 2, 10_000.0)]
    view = _view(jobs, server)
    assert [valuation(view, j, 1.0) for j in range(4)] == pytest.approx([1.75, 1.75, 2.0, 1.03])
    # With N = 4, T_ind = duration x GPUs, so rho_now = 1 / GPUs: b, c and e
    # (0.5) are worse off than d (0.25).  knob 0.5: the two worst, b and c,
    # bid and share the server; without b, c's value is unchanged, so each
    # keeps c = 1.  d would have won with everyone bidding but is not offered.
    assert themis.bidders(view, 0.5) == [0, 1]
    grants = Themis(knob=0.5).allocate(view)
    assert [(g.job, g.fraction) for g in grants] == [(0, 1.0), (1, 1.0)]
    # knob 0: everyone bids.  PF: b and c (1.75^2 = 3.06 > 2 for d).  Without b
    # the best is d alone (2), so c_b = V_c / 2 = 0.875, likewise c_c.  The
    # withheld 1/8 of b's lease goes to the worst job that fits 2 GPUs: e (d
    # needs 4); nothing fits the rest of c's window, which stays idle.
    grants = {g.job: g for g in Themis(knob=0.0).allocate(view)}
    assert set(grants) == {0, 1, 3}
    assert grants[0].fraction == pytest.approx(0.875) and grants[1].fraction == pytest.approx(0.875)
    assert grants[3].offset == pytest.approx(0.875) and grants[3].fraction == pytest.approx(0.125)
    assert grants[3].gpus == grants[0].gpus


# ---- baselines -----------------------------------------------------------------------------------

def test_gavel_ftf_equalises_rho_and_fills_the_cluster():
    server = [GpuServer("a", 8, "G2")]
    jobs = [GpuJob("a", 0.0, 8, 1000.0), GpuJob("b", 0.0, 8, 1000.0), GpuJob("c", 0.0, 4, 1000.0)]
    x = ftf_shares(_view(jobs, server, contention=[3.0] * 3))
    assert 8 * x[0] + 8 * x[1] + 4 * x[2] == pytest.approx(8, rel=1e-6)
    assert x[0] == pytest.approx(x[1], rel=1e-6)  # identical jobs, identical share


def test_las_prefers_least_attained_service_and_promotes_starved_jobs():
    jobs = [GpuJob("old", 0.0, 8, 1e5), GpuJob("new", 10.0, 8, 1e5)]
    view = _view(jobs, [GpuServer("a", 8, "G2")])
    view.attained[:] = [8 * 3600.0, 0.0]
    assert [g.job for g in LAS().allocate(view)] == [1]
    view.rounds_run[:] = [2, 30]
    view.rounds_active[:] = [40, 30]  # waited 38 rounds after running 2
    assert [g.job for g in LAS().allocate(view)] == [0]


@pytest.mark.parametrize("policy", [DRF(), LAS(), GavelFTF(), Themis()])
def test_every_policy_finishes_every_job(policy):
    servers = [GpuServer("a", 8, "G2"), GpuServer("b", 8, "T4"), GpuServer("c", 4, "T4")]
    jobs = synthetic_gpu_jobs(25, servers, seed=3)
    res = GpuSimulator(servers, jobs, policy, lease=300).run()  # the simulator checks capacity and gangs
    s = res.summary()
    assert s["jobs_finished"] == 25 and 0 < s["gpu_utilisation"] <= 1
    assert (res.utilisation <= 1 + 1e-9).all()
    work = sum(j.duration * j.gpus for j in jobs)
    assert res.busy >= work * (1 - 1e-9)  # spreading only adds GPU time


def test_alibaba_gpu_mapping():
    servers = alibaba_gpu_cluster(32)
    assert sum(s.gpus for s in servers) == 32 and len({s.model for s in servers}) == 4
    jobs = alibaba_gpu_jobs(120, servers)
    assert len(jobs) == 120 and sum(j.gpus > 1 for j in jobs) == 60
    assert all(1 <= j.gpus <= 32 and 120 <= j.duration <= 6 * 3600 for j in jobs)
    assert [j.arrival for j in jobs] == sorted(j.arrival for j in jobs) and jobs[0].arrival == 0


def test_simulate_gpu_json_and_plots(tmp_path, capsys):
    assert main(["simulate", "--trace", "synthetic", "--jobs", "12", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(x) for x in lines]
    assert [r["policy"] for r in rows] == ["themis", "drf", "las", "gavel-ftf"]
    for r in rows:
        assert {"policy", "max_rho", "jain_rho", "unfair_fraction", "gpu_utilisation", "makespan", "mean_jct",
                "jobs_finished"} <= set(r) and r["jobs_finished"] == 12
    assert main(["simulate", "--trace", "synthetic", "--jobs", "12", "--policy", "drf,las", "--out",
                 str(tmp_path)]) == 0
    assert "max rho" in capsys.readouterr().out
    for f in ("rho_cdf.png", "gpu_utilisation.png", "jct_cdf.png"):
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"


def test_bench_targets_are_checked_both_ways():
    from fairshare.commands.bench_jobs import check_targets
    base = {"max_rho": 4.0, "gpu_utilisation": 0.60}
    by = {"themis": {"max_rho": 3.0, "gpu_utilisation": 0.57}, "drf": dict(base, max_rho=60.0),
          "las": dict(base, max_rho=20.0), "gavel-ftf": base}
    assert all(met for _, met, _ in check_targets(by))
    by["themis"] = {"max_rho": 6.5, "gpu_utilisation": 0.50}  # > 1.5 x 4.0, and 10 points below drf
    assert [met for _, met, _ in check_targets(by)] == [True, True, False, False]
