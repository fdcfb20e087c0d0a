"""Autobahn-protocol client driver on tornado.websocket.websocket_connect
(permessage-deflate offered, compression_options={}; max_message_size 64 MiB)."""
import tornado.websocket

from driver import MAX_MESSAGE, run_client


async def session(url, echo):
    got = []
    ws = await tornado.websocket.websocket_connect(
        url, compression_options={}, max_message_size=MAX_MESSAGE
    )
    while True:
        msg = await ws.read_message()
        if msg is None:
            break
        if echo:
            await ws.write_message(msg, binary=isinstance(msg, bytes))
        else:
            got.append(msg)
    return got


run_client(session)
