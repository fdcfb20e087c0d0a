"""The Autobahn fuzzingserver URL protocol, shared by the Python client drivers.

/getCaseCount, then /runCase?case=i&agent=A for i = 1..N, then
/updateReports?agent=A. A library module supplies `session(url, echo)`, a
coroutine that connects, echoes every message with its type (echo=True) or
collects the text messages (echo=False) until the connection closes, and
returns the collected messages. Every session is bounded by CASE_TIMEOUT here.
Servers share `serve_forever_args()`: the port from argv and the line
"listening 127.0.0.1:PORT" the scripts wait for.
"""
import asyncio
import signal
import sys
from urllib.parse import quote

# Above the longest case timer (480 s, 12.x/13.x with large messages): the
# harness ends every case; this only guards against a library that hangs.
CASE_TIMEOUT = 600.0
MAX_CASES = 10000
MAX_MESSAGE = 64 * 1024 * 1024  # Autobahn 9.x sends 16 MiB messages


async def _bounded(session, url, echo):
    try:
        return await asyncio.wait_for(session(url, echo), CASE_TIMEOUT)
    except Exception as exc:  # a failed case must not stop the run
        print(f"{url}: {type(exc).__name__}: {exc}", flush=True)
    return None


async def _main(session, base, agent):
    got = await _bounded(session, f"{base}/getCaseCount", False)
    try:
        n = int(got[0])
        assert 0 <= n <= MAX_CASES
    except Exception:
        sys.exit(f"driver: bad case count {got!r}")
    a = quote(agent, safe="")
    for i in range(1, n + 1):
        await _bounded(session, f"{base}/runCase?case={i}&agent={a}", True)
    await _bounded(session, f"{base}/updateReports?agent={a}", False)


def run_client(session):
    if len(sys.argv) != 3 or not sys.argv[1].startswith(("ws://", "wss://")):
        sys.exit("usage: DRIVER BASE_URL AGENT")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    asyncio.run(_main(session, sys.argv[1].rstrip("/"), sys.argv[2]))


def port_arg():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) > 65535:
        sys.exit("usage: SERVER PORT")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    return int(sys.argv[1])


def listening(port):
    print(f"listening 127.0.0.1:{port}", flush=True)
