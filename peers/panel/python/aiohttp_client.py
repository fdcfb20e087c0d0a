"""Autobahn-protocol client driver on aiohttp's ClientSession.ws_connect
(permessage-deflate offered, compress=15; max_msg_size 64 MiB)."""
import aiohttp

from driver import MAX_MESSAGE, run_client


async def session(url, echo):
    got = []
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, max_msg_size=MAX_MESSAGE, compress=15) as ws:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    if echo:
                        await ws.send_str(msg.data)
                    else:
                        got.append(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY and echo:
                    await ws.send_bytes(msg.data)
    return got


run_client(session)
