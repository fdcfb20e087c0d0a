"""Echo server on aiohttp's web server: text as text, binary as binary.
permessage-deflate on (aiohttp's default, compress=True); max_msg_size raised
from 4 MiB to 64 MiB. aiohttp answers pings itself (autoping)."""
import asyncio

from aiohttp import WSMsgType, web

from driver import MAX_MESSAGE, listening, port_arg


async def echo(request):
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def main(port):
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", echo)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    listening(site._server.sockets[0].getsockname()[1])
    await asyncio.Future()


asyncio.run(main(port_arg()))
