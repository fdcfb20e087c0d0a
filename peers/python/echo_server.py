#!/usr/bin/env python3
"""Echo server on the `websockets` library (asyncio API), a reference peer for wsconform.

Usage: python echo_server.py PORT        (PORT 0 = pick a free port)

With TLS_CERT and TLS_KEY (PEM file paths) in the environment, serves wss://.
Listens on 127.0.0.1 only, prints "listening 127.0.0.1:PORT" once ready, echoes
every message with its type (str -> text, bytes -> binary), exits 0 on SIGTERM/SIGINT.

Library defaults everywhere except max_size=None (no message size limit; Autobahn 9.x
sends 16 MiB). Defaults that show in results: permessage-deflate is negotiated when
offered, and a message may have at most WEBSOCKETS_MAX_FRAGMENTS (env, default 4096)
fragments -- Autobahn 9.3.x/9.4.x exceed that and fail with 1009; that is real
behaviour and is kept.
"""
import asyncio
import os
import signal
import ssl
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    tls = None
    if os.environ.get("TLS_CERT") and os.environ.get("TLS_KEY"):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(os.environ["TLS_CERT"], os.environ["TLS_KEY"])
    async with serve(echo, "127.0.0.1", port, max_size=None, ssl=tls) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"listening 127.0.0.1:{bound}", flush=True)
        await stop


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) > 65535:
        sys.exit("usage: echo_server.py PORT")
    asyncio.run(main(int(sys.argv[1])))
