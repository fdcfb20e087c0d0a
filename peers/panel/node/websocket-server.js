// Echo server on `websocket` (websocket-node): text as text, binary as binary.
// No permessage-deflate (the library has none). Its frame and message limits
// (defaults 1 MiB and 8 MiB) are raised to 64 MiB; outgoing messages are not
// fragmented (the library's default splits them at 16 KiB).
'use strict';
const http = require('http');
const WebSocketServer = require('websocket').server;
const { port, MAX_MESSAGE } = require('./driver');

const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const wss = new WebSocketServer({
  httpServer: server,
  autoAcceptConnections: true,
  maxReceivedFrameSize: MAX_MESSAGE,
  maxReceivedMessageSize: MAX_MESSAGE,
  fragmentOutgoingMessages: false,
});
wss.on('connect', (c) => {
  c.on('message', (m) => (m.type === 'utf8' ? c.sendUTF(m.utf8Data) : c.sendBytes(m.binaryData)));
  c.on('error', () => {});
});
server.listen(port(), '127.0.0.1', () => console.log(`listening 127.0.0.1:${server.address().port}`));
