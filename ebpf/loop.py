"""The interval/count loop of bcc's tools, with JSON lines and a Ctrl-C summary.

`run(interval, count, tick, summary)` calls `tick(final=False)` every
`interval` seconds, `count` times (forever when count is None).  Without an
interval it waits for Ctrl-C.  Ctrl-C, or the end of the count, calls
`summary()` once; reaching the count does not (each interval was
already printed), as with bcc's tools.  `poll` (if given) is called about once a second in
between, for work that must not wait for a long interval (refreshing a pid
filter, noticing that the traced process exited).
"""
from __future__ import annotations

import json
import signal
import sys
import time
from typing import Callable, Optional


def add_arguments(parser, default_interval: Optional[float] = None) -> None:
    parser.add_argument("interval", nargs="?", type=float, default=default_interval,
                        help="seconds between reports (default: one report at Ctrl-C)")
    parser.add_argument("count", nargs="?", type=int, default=None,
                        help="number of reports, then exit (default: until Ctrl-C)")
    parser.add_argument("-j", "--json", action="store_true",
                        help="one JSON object per line per interval instead of tables")


def check(interval, count) -> Optional[str]:
    """Error text for bad interval/count, else None."""
    if interval is not None and interval <= 0:
        return f"interval must be > 0 seconds (got {interval})"
    if count is not None and count <= 0:
        return f"count must be >= 1 (got {count})"
    if count is not None and interval is None:
        return "count needs an interval"
    return None


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), sort_keys=False) + "\n")
    sys.stdout.flush()


def run(interval: Optional[float], count: Optional[int], tick: Callable[[], None],
        summary: Callable[[], None], poll: Optional[Callable[[], bool]] = None) -> None:
    """`poll()` returning False ends the run early (e.g. the traced process exited)."""
    # SIGTERM ends the run like Ctrl-C so `timeout` and test harnesses get a summary.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    done = 0
    finished_count = False
    try:
        next_at = time.monotonic() + (interval or 3600.0)
        while count is None or done < count:
            now = time.monotonic()
            time.sleep(max(0.0, min(1.0, next_at - now)))
            if poll is not None and not poll():
                if interval is not None:
                    tick()
                break
            if interval is not None and time.monotonic() >= next_at:
                tick()
                done += 1
                next_at += interval
                finished_count = count is not None and done >= count
            elif interval is None:
                next_at = time.monotonic() + 3600.0
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not finished_count:
        summary()


def _interrupt(signum, frame):
    raise KeyboardInterrupt
