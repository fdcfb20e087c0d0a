"""Echo server on Tornado's WebSocketHandler: text as text, binary as binary.
permessage-deflate on (get_compression_options returns {}; Tornado's default is
off); websocket_max_message_size raised from 10 MiB to 64 MiB."""
import asyncio

import tornado.web
import tornado.websocket

from driver import MAX_MESSAGE, listening, port_arg


class Echo(tornado.websocket.WebSocketHandler):
    def get_compression_options(self):
        return {}

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


async def main(port):
    app = tornado.web.Application([(r"/.*", Echo)], websocket_max_message_size=MAX_MESSAGE)
    server = app.listen(port, "127.0.0.1")
    (sock,) = server._sockets.values()
    listening(sock.getsockname()[1])
    await asyncio.Future()


asyncio.run(main(port_arg()))
