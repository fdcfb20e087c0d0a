"""Autobahn-protocol client driver on `websockets` (permessage-deflate offered)."""
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from driver import MAX_MESSAGE, run_client


async def session(url, echo):
    got = []
    async with connect(url, max_size=MAX_MESSAGE) as ws:
        try:
            async for message in ws:
                if echo:
                    await ws.send(message)
                else:
                    got.append(message)
        except ConnectionClosed:
            pass
    return got


run_client(session)
