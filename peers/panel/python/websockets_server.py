"""Echo server on `websockets` (asyncio API): permessage-deflate when offered
(the library's default), max_size raised to 64 MiB; WEBSOCKETS_MAX_FRAGMENTS
keeps its default (4096 fragments per message)."""
import asyncio

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from driver import MAX_MESSAGE, listening, port_arg


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(port):
    async with serve(echo, "127.0.0.1", port, max_size=MAX_MESSAGE) as server:
        listening(server.sockets[0].getsockname()[1])
        await asyncio.Future()


asyncio.run(main(port_arg()))
