"""Log2 histograms: BPF programs count `bpf_log2l(value)` slots in a map;
these helpers turn the slots back into ranges, print them and export them.

Slot s > 0 holds values in [2**(s-1), 2**s - 1]; slot 0 holds 0.  This is
the bucket rule of bcc's bpf_log2l (index = floor(log2(v)) + 1).
"""
from __future__ import annotations

from typing import Mapping

BAR_WIDTH = 36


def slot_range(slot: int) -> tuple[int, int]:
    if slot <= 0:
        return 0, 0
    return 1 << (slot - 1), (1 << slot) - 1


def render(slots: Mapping[int, int], unit: str = "usecs", indent: str = "    ") -> str:
    """Text histogram, one row per slot from the first to the last non-empty one."""
    used = sorted(s for s, c in slots.items() if c)
    if not used:
        return f"{indent}(no samples)"
    peak = max(slots[s] for s in used)
    label_width = len(f"{slot_range(used[-1])[0]} .. {slot_range(used[-1])[1]}")
    label_width = max(label_width, len(unit))
    count_width = max(5, len(str(peak)))
    rows = [f"{indent}{unit:>{label_width}}  {'count':>{count_width}}  distribution"]
    for slot in range(used[0], used[-1] + 1):
        low, high = slot_range(slot)
        count = slots.get(slot, 0)
        bar = "#" * (round(BAR_WIDTH * count / peak) if count else 0)
        if count and not bar:
            bar = "."
        rows.append(f"{indent}{f'{low} .. {high}':>{label_width}}  {count:>{count_width}}  |{bar:<{BAR_WIDTH}}|")
    return "\n".join(rows)


def to_json(slots: Mapping[int, int]) -> list[dict]:
    """[{"low": .., "high": .., "count": ..}] for non-empty slots, ascending."""
    return [{"low": slot_range(s)[0], "high": slot_range(s)[1], "count": c}
            for s, c in sorted(slots.items()) if c]


def total(slots: Mapping[int, int]) -> int:
    return sum(slots.values())


def percentile(slots: Mapping[int, int], q: float) -> int:
    """Upper bound of the slot holding the q-quantile (0 < q <= 1); 0 when empty."""
    n = total(slots)
    if n == 0:
        return 0
    rank = q * n
    seen = 0
    for slot in sorted(slots):
        seen += slots[slot]
        if seen >= rank:
            return slot_range(slot)[1]
    return slot_range(max(slots))[1]
