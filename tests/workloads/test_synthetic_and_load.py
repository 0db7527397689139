import statistics

import pytest

from workloads.invocation import Invocation
from workloads.load import limit, offered_load, rescale_to_load
from workloads.synthetic import generate


def test_rescale_hits_the_target_load_and_keeps_order():
    invs = [Invocation(str(k), "f", "t", a, d) for k, (a, d) in enumerate([(5, 1.0), (7, 0.5), (15, 0.5)])]
    assert offered_load(invs, 1) == pytest.approx(2.0 / 10)
    out = rescale_to_load(invs, 0.5, 2)
    assert offered_load(out, 2) == pytest.approx(0.5)
    assert [i.id for i in out] == ["0", "1", "2"]
    assert out[0].arrival_s == 0
    # gaps keep their ratio (2 : 8)
    assert (out[2].arrival_s - out[1].arrival_s) / (out[1].arrival_s - out[0].arrival_s) == pytest.approx(4)
    assert [i.id for i in limit(out, 2)] == ["0", "1"]


@pytest.mark.parametrize("arrivals", ["poisson", "bursty"])
def test_synthetic_trace_has_the_target_load_and_is_reproducible(arrivals):
    a = generate(300, 2, 0.8, arrivals=arrivals, seed=3)
    b = generate(300, 2, 0.8, arrivals=arrivals, seed=3)
    assert a == b
    assert offered_load(a, 2) == pytest.approx(0.8)
    assert len({i.id for i in a}) == 300
    shorts = sum(i.duration_s < 0.25 for i in a) / len(a)
    assert 0.6 < shorts < 0.8


def test_bursty_arrivals_are_burstier_than_poisson():
    def cv(invs):
        gaps = [b.arrival_s - a.arrival_s for a, b in zip(invs, invs[1:])]
        return statistics.pstdev(gaps) / statistics.mean(gaps)
    assert cv(generate(2000, 2, 0.8, arrivals="bursty", seed=1)) > 1.3 * cv(generate(2000, 2, 0.8, seed=1))


def test_bad_generator_arguments():
    with pytest.raises(ValueError):
        generate(10, 2, 0.8, mix="nope")
    with pytest.raises(ValueError):
        rescale_to_load(generate(10, 2, 0.8), 0, 2)
