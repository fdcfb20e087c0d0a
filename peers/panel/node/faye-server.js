// Echo server on `faye-websocket` with its `permessage-deflate` extension:
// text as text, binary as binary. maxLength 64 MiB (its default is 2^26 - 1).
'use strict';
const http = require('http');
const WebSocket = require('faye-websocket');
const deflate = require('permessage-deflate');
const { port, MAX_MESSAGE } = require('./driver');

const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
server.on('upgrade', (req, socket, body) => {
  if (!WebSocket.isWebSocket(req)) { socket.destroy(); return; }
  const ws = new WebSocket(req, socket, body, [], { extensions: [deflate], maxLength: MAX_MESSAGE });
  ws.on('message', (e) => ws.send(e.data));
});
server.listen(port(), '127.0.0.1', () => console.log(`listening 127.0.0.1:${server.address().port}`));
