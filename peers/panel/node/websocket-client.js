// Autobahn-protocol client driver on `websocket` (websocket-node); limits as in
// websocket-server.js, no permessage-deflate.
'use strict';
const WebSocketClient = require('websocket').client;
const { run, MAX_MESSAGE } = require('./driver');

run((url, echo) => new Promise((resolve) => {
  const got = [];
  const client = new WebSocketClient({
    maxReceivedFrameSize: MAX_MESSAGE,
    maxReceivedMessageSize: MAX_MESSAGE,
    fragmentOutgoingMessages: false,
  });
  client.on('connectFailed', () => resolve(got));
  client.on('connect', (c) => {
    c.on('message', (m) => {
      if (!echo) got.push(m.utf8Data);
      else if (m.type === 'utf8') c.sendUTF(m.utf8Data);
      else c.sendBytes(m.binaryData);
    });
    c.on('error', () => {});
    c.on('close', () => resolve(got));
  });
  client.connect(url);
}));
