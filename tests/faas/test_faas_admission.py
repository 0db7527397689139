"""Bursts: bounded queueing, 503 + Retry-After beyond it, exact accounting of responses and records."""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from faas_support import start_server
from sfs.faas.records import read_results


async def _burst(url: str, function: str, events: list[dict]) -> list[tuple[int, dict, dict]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(event):
            async with session.post(f"{url}/run/{function}", json=event,
                                    timeout=aiohttp.ClientTimeout(total=120)) as resp:
                return resp.status, dict(resp.headers), json.loads(await resp.read())
        return await asyncio.gather(*(one(e) for e in events))


def _wait_records(path, count: int, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    rows = []
    while time.monotonic() < deadline:
        rows = read_results(path) if path.exists() else []
        if len(rows) >= count:
            break
        time.sleep(0.05)
    return rows


def test_burst_gets_exactly_one_response_and_one_record_each(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir, "--max-running", "4", "--max-queue", "500")
    try:
        n = 60
        replies = asyncio.run(_burst(server.url, "echo", [{"i": i} for i in range(n)]))
        assert len(replies) == n
        assert all(status == 200 for status, _, _ in replies)
        assert sorted(body["i"] for _, _, body in replies) == list(range(n))  # each its own answer
        ids = [headers["X-Invocation-Id"] for _, headers, _ in replies]
        assert len(set(ids)) == n
        time.sleep(0.5)
    finally:
        assert server.stop() == 0
    rows = read_results(server.results)
    assert len(rows) == n
    assert sorted(r["invocation_id"] for r in rows) == sorted(ids)
    assert all(r["status"] == "ok" and r["function"] == "echo" and r["tenant"] == "testers" for r in rows)


def test_burst_beyond_capacity_is_queued_up_to_the_bound_then_503(tmp_path, functions_dir):
    server = start_server(tmp_path, functions_dir, "--max-running", "2", "--max-queue", "3")
    try:
        replies = asyncio.run(_burst(server.url, "sleeper", [{"s": 0.6}] * 12))
        ok = [r for r in replies if r[0] == 200]
        refused = [r for r in replies if r[0] == 503]
        assert len(ok) + len(refused) == 12
        assert 2 + 3 <= len(ok) < 12 and refused
        for _, headers, body in refused:
            assert headers["Retry-After"] == "1" and "capacity" in body["error"]
        rows = _wait_records(server.results, len(ok))
        # Refused requests never ran: the records are exactly the accepted ones.
        assert sorted(r["invocation_id"] for r in rows) == sorted(h["X-Invocation-Id"] for _, h, _ in ok)
        assert server.run("fib", {"n": 5})[0] == 200  # and the server recovers
    finally:
        assert server.stop() == 0
    assert len(read_results(server.results)) == len(ok) + 1
