"""sfs-tenant's dispatch against a stand-in engine: which tenant gets the next FILTER core."""
import time
from collections import defaultdict
from types import SimpleNamespace

from sfs.policies.sfs_tenant import FixedShares, SfsTenantPolicy
from sfs.scheduler import SchedulerConfig
from sfs.slice import SliceConfig
from sfs.task import State, Task


class StandInEngine:
    """The engine operations dispatch uses, without processes: one core, no preemption, no bypass."""

    def __init__(self, policy) -> None:
        self.config = SchedulerConfig(slice=SliceConfig(initial_s=0.01, min_samples=10_000),
                                      preempt_after_s=None, bypass_factor=1000.0)
        self.cores = [0]
        self.stacks = {0: []}
        self.stats = defaultdict(int)
        self.order = []
        self.policy = policy
        policy.attach(self)

    def free_core(self):
        return None if self.stacks[0] else 0

    def promote(self, task, core, budget, now):
        task.state, task.core, task.slice_cpu0 = State.FILTER, core, 0.0
        self.stacks[core].append(task)
        self.order.append(task.tenant)
        self.policy.running(task)

    def run_one(self, cpu=0.01):
        """Dispatch, then let the promoted task finish after `cpu` seconds of FILTER time."""
        self.policy.dispatch(0.0)
        task = self.stacks[0].pop()
        task.state = State.DONE
        self.policy.stopping(task, cpu)
        self.policy.exited(task, cpu)


def submit(engine, tenant, count, start=0):
    for k in range(count):
        inv = SimpleNamespace(id=f"{tenant}{start + k}", function="f", tenant=tenant)
        # enqueued now (the bypass compares with the clock), in submission order
        task = Task(1000 + len(engine.order) * 100 + start + k, inv, 0.0,
                    enqueued_at=time.monotonic() + 1e-6 * (start + k))
        engine.policy.admit(task, 0.0)


def test_next_core_goes_to_the_tenant_with_the_least_virtual_time():
    engine = StandInEngine(SfsTenantPolicy(FixedShares({"a": 3, "b": 1})))
    submit(engine, "a", 20)
    submit(engine, "b", 20)
    for _ in range(8):
        engine.run_one()
    # vtimes after each 10 ms: a .013 | b .04 | a .027 | a .04 | a (tie, name) .053 | b .08 | a .067 | a .08
    assert engine.order == ["a", "b", "a", "a", "a", "b", "a", "a"]
    for _ in range(8):
        engine.run_one()
    assert engine.order.count("a") == 12 and engine.order.count("b") == 4


def test_a_tenant_back_from_idle_does_not_take_every_core():
    engine = StandInEngine(SfsTenantPolicy(FixedShares({"a": 1, "b": 1})))
    submit(engine, "a", 40)
    for _ in range(20):
        engine.run_one()              # a alone: its virtual time grows to 0.2
    submit(engine, "b", 20, start=100)
    engine.order.clear()
    for _ in range(10):
        engine.run_one()
    assert 4 <= engine.order.count("a") <= 6, engine.order   # equal shares, no credit for b's idle time


def test_an_unlisted_tenant_gets_the_smallest_listed_share():
    engine = StandInEngine(SfsTenantPolicy(FixedShares({"a": 3, "b": 1})))
    submit(engine, "b", 20)
    submit(engine, "stranger", 20)
    for _ in range(20):
        engine.run_one()
    assert engine.order.count("b") == 10, engine.order


class Switchable:
    """A share source whose decision can be changed, like the agent's published file."""

    def __init__(self, weights) -> None:
        self.source = FixedShares(weights)

    def current(self):
        return self.source.current()


def test_a_lead_built_under_old_shares_is_not_carried_into_new_ones():
    shares = Switchable({"a": 1, "b": 1})
    engine = StandInEngine(SfsTenantPolicy(shares))
    submit(engine, "a", 30)
    submit(engine, "b", 30)
    engine.run_one()
    engine.policy.vtime["b"] = 5.0          # b ran far ahead (e.g. before a re-allocation)
    engine.order.clear()
    for _ in range(4):
        engine.run_one()
    assert engine.order == ["a"] * 4        # same shares: b waits until a catches up
    shares.source = FixedShares({"a": 1, "b": 3})
    engine.order.clear()
    for _ in range(8):
        engine.run_one()
    # a is at 0.1; b is placed at 0.1 + 2 x 0.01 / 0.75 = 0.127 and then charged 0.013 per task,
    # a 0.04: a .14 | b .14 | a (tie, name) .18 | b .153 | b .167 | b .18 | a (tie) .22 | b .193
    assert engine.order == ["a", "b", "a", "b", "b", "b", "a", "b"], engine.order
