"""The cross-tenant rule of sfs-tenant as pure functions, against hand-computed cases."""
import pytest

from sfs.policies import sfs_tenant as rule
from sharekit.shares import PublishedShares, TenantShare, publish


def test_weights_normalise_to_fractions():
    assert rule.normalise({"a": 3, "b": 1}) == {"a": 0.75, "b": 0.25}
    assert rule.normalise({"a": 0, "b": 0}) == {}


def test_missing_and_zero_shares():
    shares = {"a": 0.75, "b": 0.2, "z": 0.05}
    assert rule.share_of("a", shares) == 0.75
    assert rule.share_of("new", shares) == 0.05          # unlisted: the smallest listed share
    assert rule.share_of("x", {"x": 0.0, "a": 1.0}) == rule.MIN_SHARE
    assert rule.share_of("anyone", {}) == 1.0            # nothing published: all equal


def test_charge_divides_by_the_share():
    assert rule.charge(1.0, 0.3, 0.75) == pytest.approx(1.4)
    assert rule.charge(0.0, 0.1, 0.25) == pytest.approx(0.4)


def test_a_returning_tenant_banks_no_credit():
    assert rule.catch_up(0.0, [5.0, 7.0]) == 5.0
    assert rule.catch_up(9.0, [5.0]) == 9.0             # never moved back
    assert rule.catch_up(2.0, []) == 2.0                # nobody busy: keeps its own


def test_a_returning_tenant_carries_no_lead_beyond_its_window():
    assert rule.catch_up(9.0, [5.0, 7.0], window=1.5) == 6.5   # 5 + 1.5
    assert rule.catch_up(5.9, [5.0], window=1.5) == 5.9         # within the window: kept


def test_hold_window_is_in_the_tenants_own_slices():
    # 2 slices of 30 ms at a share of 0.25: 0.06 s of FILTER time = 0.24 s of virtual time
    assert rule.hold_window(0.25, 0.03) == pytest.approx(rule.HOLD_SLICES * 0.03 / 0.25)


def test_place_clamps_into_the_window_above_the_floor():
    assert rule.place(1.0, 2.0, 0.5) == 2.0     # lagging: raised to the floor
    assert rule.place(2.3, 2.0, 0.5) == 2.3     # inside: kept
    assert rule.place(4.0, 2.0, 0.5) == 2.5     # leading: lowered to floor + window


def test_rebase_after_a_share_change_keeps_order_within_the_windows():
    # b built a lead of 9 s under the old shares; c is the floor; a is not busy (left).
    vtimes = {"a": 0.5, "b": 12.0, "c": 3.0, "d": 3.2}
    out = rule.rebase(vtimes, ["b", "c", "d"], {"b": 0.4, "c": 0.4, "d": 0.4})
    assert out == {"a": 0.5, "b": pytest.approx(3.4), "c": 3.0, "d": 3.2}
    assert rule.rebase(vtimes, [], {}) == vtimes
    # right after the change nobody is held back
    shares = {"b": 0.5, "c": 0.25, "d": 0.25}
    assert rule.held_tenants(out, ["b", "c", "d"], shares, 0.1) == set()
    assert rule.held_tenants(vtimes, ["b", "c", "d"], shares, 0.1) == {"b"}


def test_interleave_follows_the_shares_and_keeps_each_tenants_order():
    queues = {"a": ["a1", "a2", "a3", "a4"], "b": ["b1", "b2"]}
    order = rule.interleave(queues, {"a": 0.0, "b": 0.0}, {"a": 0.75, "b": 0.25}, lambda t: 0.1)
    # a 0 / b 0 (tie: name) -> a1, a=0.133; b1, b=0.4; a2, a=0.267; a3, a=0.4; tie -> a4; b2
    assert order == ["a1", "b1", "a2", "a3", "a4", "b2"]


def test_interleave_starts_with_the_tenant_that_is_behind():
    queues = {"a": ["a1", "a2"], "b": ["b1"]}
    order = rule.interleave(queues, {"a": 1.0, "b": 0.5}, {"a": 0.5, "b": 0.5}, lambda t: 0.1)
    # b 0.5 < a 1.0 -> b1 (b done); a1, a2
    assert order == ["b1", "a1", "a2"]
    assert rule.interleave({"a": [], "b": ["b1"]}, {}, {"a": 1, "b": 1}, lambda t: 1) == ["b1"]


def test_preemption_crosses_tenants_except_from_a_tenant_beyond_its_window():
    assert rule.may_preempt(1.0, 2.0)
    assert rule.may_preempt(2.0, 2.0)                   # same tenant: plain LAS
    assert not rule.may_preempt(2.5, 2.0)
    assert rule.may_preempt(2.5, 2.0, window=0.5)       # slightly ahead: within its hold window
    assert not rule.may_preempt(2.6, 2.0, window=0.5)


def test_bypass_waits_longer_for_a_small_share():
    assert rule.bypass_factor(3.0, 0.25, [0.75, 0.25]) == pytest.approx(12.0)
    assert rule.bypass_factor(3.0, 0.75, [0.75, 0.25]) == pytest.approx(4.0)
    assert rule.bypass_factor(3.0, 0.25, [0.25]) == pytest.approx(3.0)   # alone: plain sfs


def test_parse_weights_and_errors_name_the_item(tmp_path):
    source = rule.parse_shares("a=3, b=1")
    assert source.current() == {"a": 0.75, "b": 0.25}
    for text, words in [("a=x", "'a'"), ("a=1,a=2", "twice"), ("a=-1", "'a'"), ("a=inf", "'a'"),
                        ("=3", "NAME=WEIGHT"), ("a=0,b=0", "every weight"),
                        (str(tmp_path / "nope.json"), "neither")]:
        with pytest.raises(ValueError, match=words):
            rule.parse_shares(text)
    bad = tmp_path / "bad.json"
    bad.write_text('{"node": "n", "version": 1, "updated": 0, "tenants": {"a": {"weight": 0, "share": 1}}}')
    with pytest.raises(ValueError, match="weight"):
        rule.parse_shares(str(bad))


def test_published_shares_are_followed_live(tmp_path):
    path = tmp_path / "node0.json"
    source = rule.parse_shares(_publish(path, 1, {"a": 0.75, "b": 0.25}))
    assert source.current() == {"a": 0.75, "b": 0.25}
    source.watcher.min_interval_s = 0.0
    _publish(path, 2, {"a": 0.2, "b": 0.6})
    assert source.current() == pytest.approx({"a": 0.25, "b": 0.75})
    path.unlink()
    assert source.current() == {}                       # agent gone: equal shares


def _publish(path, version, shares):
    tenants = {name: TenantShare(max(1, round(100 * s)), s) for name, s in shares.items()}
    publish(path, PublishedShares("node0", version, 0.0, tenants))
    return str(path)


def test_registry_lists_every_policy_once_and_makes_them():
    from sfs import policies
    assert set(policies.names()) >= {"cfs", "fifo", "sfs", "sfs-tenant", "srtf-oracle"}
    assert "srtf-oracle" not in policies.names(runnable=True)
    assert policies.needs_realtime("sfs-tenant") and not policies.needs_realtime("cfs")
    made = policies.make_policy("sfs-tenant", shares=rule.FixedShares({"a": 1}))
    assert made.name == "sfs-tenant" and made.source.current() == {"a": 1.0}
    with pytest.raises(ValueError, match="unknown policy"):
        policies.info("lottery")
    with pytest.raises(ValueError, match="simulated"):
        policies.make_policy("srtf-oracle")
