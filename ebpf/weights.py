"""CFS weights of threads, from their nice values in /proc."""
from __future__ import annotations

# The kernel's sched_prio_to_weight table, nice -20 .. 19: 1024 at nice 0,
# each step about 1.25x.
NICE_WEIGHTS = (
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
)


def nice_to_weight(nice: int) -> int:
    return NICE_WEIGHTS[max(-20, min(19, nice)) + 20]


def thread_nice(pid: int, tid: int) -> int | None:
    """Nice value of a live thread (field 19 of its stat file); None when it is gone."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    # comm may hold spaces and ')': the fields after the last ')' start at field 3 (state).
    fields = raw.rpartition(")")[2].split()
    return int(fields[19 - 3])


def jain(values) -> float:
    """Jain's index (sum x)^2 / (n sum x^2); 1.0 for no values or all zero."""
    xs = list(values)
    squares = sum(x * x for x in xs)
    if not xs or squares == 0:
        return 1.0
    return sum(xs) ** 2 / (len(xs) * squares)
