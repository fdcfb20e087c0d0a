// Echo server on `ws`: text as text, binary as binary. permessage-deflate on
// (ws's server default is off), maxPayload 64 MiB (Autobahn 9.x sends 16 MiB).
'use strict';
const { WebSocketServer } = require('ws');
const { port, MAX_MESSAGE } = require('./driver');

const wss = new WebSocketServer({ host: '127.0.0.1', port: port(), maxPayload: MAX_MESSAGE, perMessageDeflate: true });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`listening 127.0.0.1:${wss.address().port}`));
