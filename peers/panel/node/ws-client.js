// Autobahn-protocol client driver on `ws` (permessage-deflate offered: ws's default).
'use strict';
const WebSocket = require('ws');
const { run, MAX_MESSAGE } = require('./driver');

run((url, echo) => new Promise((resolve) => {
  const got = [];
  const ws = new WebSocket(url, { maxPayload: MAX_MESSAGE });
  ws.on('message', (data, isBinary) => {
    if (echo) ws.send(data, { binary: isBinary });
    else got.push(data.toString());
  });
  ws.on('error', () => {});
  ws.on('close', () => resolve(got));
}));
