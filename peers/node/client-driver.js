#!/usr/bin/env node
// Autobahn fuzzingserver client driver on the `ws` library (reference peer).
//
// Usage: node client-driver.js BASE_URL AGENT
//   e.g. node client-driver.js ws://127.0.0.1:9001 node-ws
// Opens BASE_URL/getCaseCount, then BASE_URL/runCase?case=i&agent=AGENT for
// i = 1..N (echoing every message with its type until the connection closes),
// then BASE_URL/updateReports?agent=AGENT. Every connection is bounded by
// CASE_TIMEOUT seconds (600, or the environment's CASE_TIMEOUT); on timeout the
// socket is destroyed and the driver moves on.
// Library defaults otherwise (note: the ws *client* offers permessage-deflate
// by default; it is left on). Exits 0 on SIGTERM/SIGINT.
'use strict';

const WebSocket = require('ws');

// Above the longest case timer (480 s, Autobahn's 12.x/13.x with large
// messages): the harness ends every case; this only guards against a hang. At
// 60 s a copy among six on two cores dropped 12.2.15 (128 KiB messages in
// 256-byte fragments) before its 1000th echo, a FAILED of the driver's making.
const CASE_TIMEOUT_MS = 1000 * Number(process.env.CASE_TIMEOUT || 600);
const MAX_CASES = 10000;

const [base, agent] = process.argv.slice(2);
if (!base || !agent || !/^wss?:\/\//.test(base)) {
  console.error('usage: node client-driver.js BASE_URL AGENT');
  process.exit(2);
}
const baseUrl = base.replace(/\/+$/, '');
let current = null;

// Open one connection, echo until it closes (or the timeout fires).
// Resolves with { messages, code, error, timedOut }.
function session(url, { echo = true } = {}) {
  return new Promise((resolve) => {
    const out = { messages: [], code: null, error: null, timedOut: false };
    const ws = new WebSocket(url, { maxPayload: 100 * 1024 * 1024 });
    current = ws;
    const timer = setTimeout(() => {
      out.timedOut = true;
      ws.terminate();
    }, CASE_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => {
      if (echo) ws.send(data, { binary: isBinary });
      else out.messages.push(data.toString());
    });
    ws.on('error', (err) => { out.error = err.message; });
    ws.on('close', (code) => {
      clearTimeout(timer);
      current = null;
      out.code = code;
      resolve(out);
    });
  });
}

async function main() {
  const count = await session(`${baseUrl}/getCaseCount`, { echo: false });
  const n = Number.parseInt(count.messages[0], 10);
  if (!Number.isInteger(n) || n < 0 || n > MAX_CASES) {
    console.error(`client-driver: bad case count ${JSON.stringify(count)}`);
    process.exit(1);
  }
  console.log(`client-driver: ${n} cases, agent ${agent}`);
  const a = encodeURIComponent(agent);
  for (let i = 1; i <= n; i++) {
    const r = await session(`${baseUrl}/runCase?case=${i}&agent=${a}`);
    if (r.timedOut) console.log(`case ${i}: timed out after ${CASE_TIMEOUT_MS} ms`);
  }
  const rep = await session(`${baseUrl}/updateReports?agent=${a}`, { echo: false });
  if (rep.error) console.error(`client-driver: updateReports: ${rep.error}`);
  console.log('client-driver: done');
}

function shutdown() {
  if (current) current.terminate();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

main().catch((err) => {
  console.error(`client-driver: ${err.stack || err}`);
  process.exit(1);
});
