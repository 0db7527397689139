"""The `scl bench` workloads: one table, read by the harness, the metrics and
the report.  A new lock workload is one entry in SCENARIOS.

Each worker thread loops { lock; busy critical section of cs_ns; unlock }
(cs_ns = 0: one increment, for throughput), optionally at a nice value,
pinned to a CPU slot (an index into the CPUs the process may use) and
leaving after a fraction of the run.  The kind says what is measured:
  fairness    hold time per thread (utilisation, Jain, share error); with a
              worker that leaves, also before/after the midpoint
  throughput  acquisitions per second with tiny critical sections
  latency     one thread, uncontended lock+unlock, timed in alternating
              pairs against glibc's pthread mutex in the same process
"""
from __future__ import annotations

from dataclasses import dataclass, field

SCL_LOCKS = ("uscl", "preload")   # the locks the targets apply to by default


@dataclass(frozen=True)
class Worker:
    cs_ns: int = 0
    nice: int = 0
    cpu: int = -1          # CPU slot; -1 = not pinned
    exit_frac: float = 0.0  # leave after this fraction of the run; 0 = stay

    def spec(self) -> str:
        """The harness's --workers item: cs_ns:nice:cpu:exit_frac."""
        return f"{self.cs_ns}:{self.nice}:{self.cpu}:{self.exit_frac:g}"


@dataclass(frozen=True)
class Target:
    metric: str
    op: str                 # ">=" or "<="
    threshold: float        # absolute, or a factor of the pthread mutex's value
    relative_to_mutex: bool = False
    locks: tuple[str, ...] = SCL_LOCKS

    def describe(self) -> str:
        ref = "x mutex" if self.relative_to_mutex else ""
        return f"{self.metric} {self.op} {self.threshold:g}{ref}"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    kind: str               # "fairness", "throughput" or "latency"
    workers: tuple[Worker, ...]
    targets: tuple[Target, ...] = field(default=())

    @property
    def main_metric(self) -> str:
        """The number the scenario is mainly about (picks the median run)."""
        if self.kind == "latency":
            return "glibc_ratio"
        if self.kind == "throughput":
            return "throughput_per_s"
        return "utilisation_after" if self.has_exit else "jain_hold"

    @property
    def has_exit(self) -> bool:
        return any(w.exit_frac > 0 for w in self.workers)

    def harness_args(self) -> list[str]:
        mode = "latency" if self.kind == "latency" else "contended"
        return ["--scenario", self.name, "--mode", mode,
                "--workers", ",".join(w.spec() for w in self.workers)]


KINDS = ("fairness", "throughput", "latency")

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("a", "(a) 2 thr / 2 CPU, CS 1us vs 3us", "fairness",
             (Worker(1000, cpu=0), Worker(3000, cpu=1)),
             (Target("jain_hold", ">=", 0.99), Target("utilisation", ">=", 0.97))),
    Scenario("b", "(b) 4 thr / 2 CPU, CS 1/1/3/3us", "fairness",
             (Worker(1000, cpu=0), Worker(1000, cpu=1), Worker(3000, cpu=0), Worker(3000, cpu=1)),
             (Target("jain_hold", ">=", 0.99),)),
    Scenario("c", "(c) 2 thr, CS 2us, nice 0 vs 5 (ideal 0.754:0.246)", "fairness",
             (Worker(2000, cpu=0), Worker(2000, nice=5, cpu=1)),
             (Target("jain_hold", ">=", 0.99), Target("share_error", "<=", 0.01))),
    Scenario("d", "(d) 3 thr, CS 2us, one exits at half time", "fairness",
             (Worker(2000, cpu=0), Worker(2000, cpu=1), Worker(2000, cpu=0, exit_frac=0.5)),
             (Target("utilisation_after", ">=", 0.90),)),
    Scenario("e", "(e) uncontended lock+unlock, alternating pairs against glibc", "latency",
             (Worker(0, cpu=0),),
             (Target("glibc_ratio", "<=", 1.2, locks=("uscl",)),
              Target("glibc_ratio", "<=", 1.5, locks=("preload",)))),
    Scenario("f", "(f) contended throughput, 2 thr, tiny CS", "throughput",
             (Worker(0, cpu=0), Worker(0, cpu=1)),
             (Target("throughput_per_s", ">=", 0.9, relative_to_mutex=True),)),
)}



def _check(s: Scenario) -> None:
    """A table mistake fails at import, naming the scenario."""
    if s.kind not in KINDS:
        raise ValueError(f"scenario {s.name}: unknown kind {s.kind!r}")
    if not 1 <= len(s.workers) <= 8:
        raise ValueError(f"scenario {s.name}: 1..8 workers, got {len(s.workers)}")
    if s.kind == "latency" and (len(s.workers) != 1 or s.workers[0].cs_ns):
        raise ValueError(f"scenario {s.name}: a latency scenario runs one worker with cs_ns 0")
    if s.kind == "fairness" and any(w.cs_ns <= 0 for w in s.workers):
        raise ValueError(f"scenario {s.name}: fairness workers need cs_ns > 0")


for _scenario in SCENARIOS.values():
    _check(_scenario)
