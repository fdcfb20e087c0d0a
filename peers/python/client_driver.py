#!/usr/bin/env python3
"""Autobahn fuzzingserver client driver on the `websockets` library (asyncio API).

Usage: python client_driver.py BASE_URL AGENT
   e.g. python client_driver.py ws://127.0.0.1:9001 py-websockets

Opens BASE_URL/getCaseCount, then BASE_URL/runCase?case=i&agent=AGENT for
i = 1..N (echoing every message with its type until the connection closes),
then BASE_URL/updateReports?agent=AGENT. Every connection is bounded by
CASE_TIMEOUT seconds (600, or the environment's CASE_TIMEOUT); on timeout it is
abandoned and the driver moves on.
Library defaults otherwise, except max_size=None (permessage-deflate is offered;
WEBSOCKETS_MAX_FRAGMENTS keeps its default of 4096). Exits 0 on SIGTERM/SIGINT.
"""
import asyncio
import os
import signal
import sys
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

# Above the longest case timer (480 s, Autobahn's 12.x/13.x with large
# messages): the harness ends every case; this only guards against a hang.
# (At 60 s, parallel copies on a busy machine dropped large 12.x cases.)
CASE_TIMEOUT = float(os.environ.get("CASE_TIMEOUT", "600"))
MAX_CASES = 10000


async def session(url, echo=True):
    """Open one connection, echo (or collect) messages until it is closed."""
    received = []
    async with connect(url, max_size=None) as ws:
        try:
            async for message in ws:
                if echo:
                    await ws.send(message)
                else:
                    received.append(message)
        except ConnectionClosed:
            pass
    return received


async def bounded(url, echo=True):
    try:
        return await asyncio.wait_for(session(url, echo), CASE_TIMEOUT)
    except asyncio.TimeoutError:
        print(f"{url}: timed out after {CASE_TIMEOUT:.0f} s", flush=True)
    except (ConnectionClosed, InvalidHandshake, OSError) as exc:
        print(f"{url}: {type(exc).__name__}: {exc}", flush=True)
    return None


async def main(base, agent):
    received = await bounded(f"{base}/getCaseCount", echo=False)
    try:
        n = int(received[0])
        assert 0 <= n <= MAX_CASES
    except Exception:
        sys.exit(f"client_driver: bad case count {received!r}")
    print(f"client_driver: {n} cases, agent {agent}", flush=True)
    a = quote(agent, safe="")
    for i in range(1, n + 1):
        await bounded(f"{base}/runCase?case={i}&agent={a}")
    await bounded(f"{base}/updateReports?agent={a}", echo=False)
    print("client_driver: done", flush=True)


def run(base, agent):
    async def wrapper():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await main(base, agent)
        except asyncio.CancelledError:
            pass

    asyncio.run(wrapper())


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[1].startswith(("ws://", "wss://")):
        sys.exit("usage: client_driver.py BASE_URL AGENT")
    run(sys.argv[1].rstrip("/"), sys.argv[2])
