// Autobahn-protocol client driver on `faye-websocket` (permessage-deflate offered).
'use strict';
const WebSocket = require('faye-websocket');
const deflate = require('permessage-deflate');
const { run, MAX_MESSAGE } = require('./driver');

run((url, echo) => new Promise((resolve) => {
  const got = [];
  const ws = new WebSocket.Client(url, [], { extensions: [deflate], maxLength: MAX_MESSAGE });
  ws.on('message', (e) => (echo ? ws.send(e.data) : got.push(String(e.data))));
  ws.on('close', () => resolve(got));
}));
