"""Synthetic traces: Poisson or bursty arrivals, a duration mix, a target load.

Mixes (durations are CPU seconds, log-uniform inside each class):

- ``cpu-bound`` (the ``sfs bench`` default): 70% short 20-200 ms, 20%
  medium 250 ms-1 s, 10% long 1-2 s; mean service about 0.31 s.
- ``bimodal``: 80% short 10-100 ms, 20% long 1-2 s.
- ``demo``: 88% short 20-200 ms, 10% medium 250 ms-1 s, 2% long 1-2 s;
  mean service about 0.15 s, so a 20 s replay holds about 180 short calls
  (``make demo``: a short-call p99 that is not one job).

Arrivals: ``poisson`` (exponential gaps) or ``bursty`` (bursts of a
geometric number of calls, mean 5, 10x faster inside a burst than between
bursts).  Either way the arrivals are finally rescaled so the offered load
is exactly `load` x `cores`.

Command line (writes a trace in the SFS standalone format plus its fib
table, measured on this machine)::

    python -m workloads.synthetic --count 120 --cores 2 --load 0.8 --out workloads/data/sfs-demo.txt
"""
from __future__ import annotations

import argparse
import math
import random
import sys

from workloads.invocation import Invocation
from workloads.load import rescale_to_load

MIXES = {
    "cpu-bound": [(0.70, 0.020, 0.200, "short"), (0.20, 0.250, 1.0, "medium"), (0.10, 1.0, 2.0, "long")],
    "bimodal": [(0.80, 0.010, 0.100, "short"), (0.20, 1.0, 2.0, "long")],
    "demo": [(0.88, 0.020, 0.200, "short"), (0.10, 0.250, 1.0, "medium"), (0.02, 1.0, 2.0, "long")],
}


def _duration(rng: random.Random, mix) -> tuple[float, str]:
    u = rng.random()
    for share, low, high, name in mix:
        if u < share:
            return math.exp(rng.uniform(math.log(low), math.log(high))), name
        u -= share
    _, low, high, name = mix[-1]
    return math.exp(rng.uniform(math.log(low), math.log(high))), name


def generate(count: int, cores: int, load: float, arrivals: str = "poisson", mix: str = "cpu-bound",
             seed: int = 0) -> list[Invocation]:
    if count < 2:
        raise ValueError("need at least two invocations")
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r} (choose from {', '.join(MIXES)})")
    if arrivals not in ("poisson", "bursty"):
        raise ValueError(f"unknown arrival process {arrivals!r} (choose poisson or bursty)")
    rng = random.Random(seed)
    t = 0.0
    out = []
    in_burst = 0
    for k in range(count):
        duration, cls = _duration(rng, MIXES[mix])
        out.append(Invocation(f"syn-{k}", f"burn-{cls}", f"tenant-{k % 3}", t, duration))
        if arrivals == "poisson":
            t += rng.expovariate(1.0)
        else:
            if in_burst <= 0:
                in_burst = 1 + int(rng.expovariate(1 / 4.0))  # burst size, mean 5
                t += rng.expovariate(1.0)     # gap between bursts, mean 1
            else:
                t += rng.expovariate(10.0)    # gap inside a burst, mean 0.1
            in_burst -= 1
    return rescale_to_load(out, load, cores)


def main(argv=None) -> int:
    from workloads.sfs_standalone import calibrate_fib_table, write_fib_table, write_sfs_standalone
    p = argparse.ArgumentParser(prog="python -m workloads.synthetic", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=120)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--load", type=float, default=0.8)
    p.add_argument("--arrivals", choices=["poisson", "bursty"], default="poisson")
    p.add_argument("--mix", choices=sorted(MIXES), default="cpu-bound")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="trace file (SFS standalone format); the table goes to <stem>-optimal.txt")
    args = p.parse_args(argv)
    table = calibrate_fib_table()
    invs = generate(args.count, args.cores, args.load, args.arrivals, args.mix, args.seed)
    write_sfs_standalone(args.out, invs, table)
    stem = args.out[:-4] if args.out.endswith(".txt") else args.out
    write_fib_table(stem + "-optimal.txt", table)
    print(f"wrote {len(invs)} invocations to {args.out} and the fib table to {stem}-optimal.txt", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
