// The Autobahn fuzzingserver URL protocol, shared by the Node client drivers of
// the panel: /getCaseCount, /runCase?case=i&agent=A for i = 1..N, then
// /updateReports?agent=A. A library module supplies `session(url, echo)`, a
// promise of the text messages received (echo=false) once the connection has
// closed; every session is bounded by CASE_TIMEOUT_MS here, so a library that
// never reports the close cannot hang the driver.
'use strict';

// Above the longest case timer (480 s, 12.x/13.x with large messages): the
// harness ends every case; this only guards against a library that hangs.
const CASE_TIMEOUT_MS = 600 * 1000;
const MAX_CASES = 10000;

function bounded(session, url, echo) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      console.log(`${url}: timed out after ${CASE_TIMEOUT_MS} ms`);
      resolve(null);
    }, CASE_TIMEOUT_MS);
    session(url, echo).then(
      (msgs) => { clearTimeout(timer); resolve(msgs); },
      (err) => { clearTimeout(timer); console.log(`${url}: ${err}`); resolve(null); },
    );
  });
}

async function run(session) {
  const [base, agent] = process.argv.slice(2);
  if (!base || !agent || !/^wss?:\/\//.test(base)) {
    console.error('usage: DRIVER BASE_URL AGENT');
    process.exit(2);
  }
  const baseUrl = base.replace(/\/+$/, '');
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  const count = await bounded(session, `${baseUrl}/getCaseCount`, false);
  const n = Number.parseInt(count && count[0], 10);
  if (!Number.isInteger(n) || n < 0 || n > MAX_CASES) {
    console.error(`driver: bad case count ${JSON.stringify(count)}`);
    process.exit(1);
  }
  const a = encodeURIComponent(agent);
  for (let i = 1; i <= n; i++) {
    await bounded(session, `${baseUrl}/runCase?case=${i}&agent=${a}`, true);
  }
  await bounded(session, `${baseUrl}/updateReports?agent=${a}`, false);
  process.exit(0);
}

function port() {
  const p = Number(process.argv[2]);
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    console.error('usage: SERVER PORT');
    process.exit(2);
  }
  return p;
}

module.exports = { run, port, MAX_MESSAGE: 64 * 1024 * 1024 };
