#!/usr/bin/env node
// Echo server on the `ws` library, a reference peer for wsconform / Autobahn.
//
// Usage: node echo-server.js PORT        (PORT 0 = pick a free port)
// With TLS_CERT and TLS_KEY (PEM file paths) in the environment, serves wss://.
// Listens on 127.0.0.1 only, prints "listening 127.0.0.1:PORT" once ready,
// echoes every message with its type (text -> text, binary -> binary), exits 0 on
// SIGTERM/SIGINT.
//
// Library defaults everywhere except maxPayload, which is set explicitly (to the
// ws default of 100 MiB) so that Autobahn 9.x's 16 MiB messages are documented
// as fitting. ws's server default for permessage-deflate is *off*
// (perMessageDeflate: false); it is left as is, so 12.x/13.x come out
// UNIMPLEMENTED, unless WS_PERMESSAGE_DEFLATE=1 is in the environment: then
// `perMessageDeflate: true` (ws's own defaults for its parameters), which is how
// 12.x/13.x are recorded (scripts/autobahn-expected.sh with SUITE=deflate).
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node echo-server.js PORT');
  process.exit(2);
}

const maxPayload = 100 * 1024 * 1024; // >= 16 MiB (Autobahn 9.1.6 / 9.2.6)
const perMessageDeflate = process.env.WS_PERMESSAGE_DEFLATE === '1';
const { TLS_CERT, TLS_KEY } = process.env;
let wss;
if (TLS_CERT && TLS_KEY) {
  // Plain (non-upgrade) requests get what ws's own HTTP server answers them
  // (426), so that TLS changes nothing but the transport.
  const server = https.createServer({
    cert: fs.readFileSync(TLS_CERT),
    key: fs.readFileSync(TLS_KEY),
  }, (req, res) => {
    const body = http.STATUS_CODES[426];
    res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
    res.end(body);
  });
  // ws forwards the HTTPS server's 'listening' and 'error' events.
  wss = new WebSocketServer({ server, maxPayload, perMessageDeflate });
  server.listen(port, '127.0.0.1');
} else {
  wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload, perMessageDeflate });
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {}); // protocol errors: ws already fails the connection
});

wss.on('listening', () => {
  console.log(`listening 127.0.0.1:${wss.address().port}`);
});

wss.on('error', (err) => {
  console.error(`echo-server: ${err.message}`);
  process.exit(1);
});

function shutdown() {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
