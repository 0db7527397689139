
import numpy as np
import pytest

from fairshare import themis
from fairshare.model import Constraints, Server
from fairshare.simulator import Simulator
from fairshare.workload import Job, alibaba_jobs, synthetic_jobs


def tiny():
    servers = [Server("a", {"cpu": 4, "mem": 8}, {"kind": "x"}), Server("b", {"cpu": 4, "mem": 8}, {"kind": "y"})]
    jobs = [Job("j0", 0.0, {"cpu": 1, "mem": 1}, 1.0, Constraints(), [10.0] * 8),
            Job("j1", 5.0, {"cpu": 2, "mem": 1}, 1.0, Constraints(labels={"kind": ("y",)}), [4.0] * 3)]
    return servers, jobs


@pytest.mark.parametrize("policy", ["drf", "bfdrf", "tsf", "psdsf", "rpsdsf", "drf:rrr", "themis"])
def test_every_job_finishes_and_capacity_is_respected(policy):
    servers, jobs = tiny()
    res = Simulator(servers, jobs, policy, lease=1.0).run()
    assert set(res.jct) == {"j0", "j1"}
    assert res.unfinished == 0
    assert (res.utilisation <= 1 + 1e-9).all() and (res.utilisation >= -1e-9).all()
    # j0 alone on 8 cores' worth of room: 8 tasks of 10 s run at once -> JCT 10 s,
    # unless it is made to wait; never faster than one task.
    assert res.jct["j0"] >= 10.0 - 1e-9
    assert res.jct["j1"] >= 4.0 - 1e-9
    assert res.running[-1] == 0


def test_contention_delays_and_no_preemption():
    """j1 (pinned to b) arrives after j0 filled both servers: it must wait for j0's tasks on b."""
    servers, jobs = tiny()
    res = Simulator(servers, jobs, "drf").run()
    assert res.jct["j0"] == pytest.approx(10.0)
    # b frees at t=10; j1's three 2-cpu tasks run two at a time on its 4 cpus: 10-14, 14-18.
    assert res.jct["j1"] == pytest.approx(18.0 - 5.0)


def test_themis_lease_holds_freed_resources_until_the_next_auction():
    servers, jobs = tiny()
    drf = Simulator(servers, jobs, "drf").run()
    res = Simulator(servers, jobs, "themis", lease=7.0).run()
    # Tasks start only at auctions (multiples of the lease), unlike DRF which
    # re-allocates as soon as j0's tasks end at t=10.
    assert res.start_times and all(t % 7.0 == 0 for t in res.start_times)
    assert any(t % 7.0 != 0 for t in drf.start_times)
    assert set(res.jct) == {"j0", "j1"}
    assert max(res.jct.values()) >= max(drf.jct.values())


def test_themis_helpers():
    assert themis.ideal_time(100.0, 10, 0.1, 2) == pytest.approx(20.0)  # 1/2 share holds 5 tasks
    assert themis.rho(10.0, 0.0, 50.0, 5, 20.0) == pytest.approx(1.0)
    cand = np.array([3, 4, 5, 6, 7])
    assert list(themis.bidders(cand, np.array([1.0, 5.0, 2.0, 5.0, 0.5]), 0.6)) == [4, 6]
    assert len(themis.bidders(cand, np.ones(5), 0.99)) == 1


def test_synthetic_workload_runs_with_metrics():
    servers, jobs, _ = synthetic_jobs(n_servers=6, n_jobs=25, seed=2)
    res = Simulator(servers, jobs, "psdsf").run(progress=False)
    s = res.summary()
    assert s["jobs_done"] == len(jobs)
    assert 0 < s["mean_jain"] <= 1
    assert res.shares.shape == (len(res.times), len(res.tracked))
    assert np.all(np.diff(res.times) >= 0)


def test_alibaba_grouping_and_bounded_run():
    servers, jobs, dropped = alibaba_jobs(max_pods=300)
    assert len(servers) == 1523
    assert sum(len(j.durations) for j in jobs) + dropped == 300
    # Every framework's demand covers each of its pods, and GPU specs became model selectors.
    assert all(j.demand["cpu"] >= 1 for j in jobs)
    assert any(j.constraints.labels.get("model") for j in jobs) or all(not j.constraints.labels for j in jobs)
    res = Simulator(servers, jobs, "drf", compress=1000).run(max_events=200)
    assert res.events <= 200
    assert not np.isnan(res.utilisation).any()
