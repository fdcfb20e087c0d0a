// Evaluates one JavaScript expression in the first page of a headless
// Chromium started with --remote-debugging-port (Chrome DevTools Protocol,
// Runtime.evaluate), after the page has loaded. Used by
// scripts/autobahn-browser.sh to press "Start Tests" on Autobahn's own
// test_browser.html, which has no way to start by itself.
// Usage: node --experimental-websocket cdp-evaluate.js DEBUG_PORT EXPRESSION
"use strict";

const [port, expression] = process.argv.slice(2);
if (!port || !expression) {
  console.error("usage: cdp-evaluate.js DEBUG_PORT EXPRESSION");
  process.exit(2);
}

async function pageTarget() {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json/list`);
      const page = (await res.json()).find((t) => t.type === "page");
      if (page) return page;
    } catch (e) {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no page target within 10 s");
}

async function main() {
  const page = await pageTarget();
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const call = (method, params) =>
    new Promise((resolve) => {
      const mine = ++id;
      ws.addEventListener("message", function on(e) {
        const msg = JSON.parse(e.data);
        if (msg.id === mine) {
          ws.removeEventListener("message", on);
          resolve(msg);
        }
      });
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  // Wait for the page's onload (Autobahn's page reads its inputs there).
  for (let i = 0; i < 100; i++) {
    const r = await call("Runtime.evaluate", { expression: "document.readyState", returnByValue: true });
    if (r.result && r.result.result && r.result.result.value === "complete") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await call("Runtime.evaluate", { expression, returnByValue: true });
  console.log(JSON.stringify(r.result));
  ws.close();
}

main().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
