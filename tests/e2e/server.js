// Test-only: run the telegram-test-api Bot API emulator on 127.0.0.1:<port>.
// Prints "READY <port>" once listening; stops when its stdin closes (the pytest fixture exits).
//
// A thin HTTP front adds one test-only route, POST /quotebot/faults, to inject Telegram errors:
// {"method": "sendMessage", "faults": ["429", "drop"]} makes the next calls of that Bot API method
// meet those faults in order ("429": flood control with retry_after 1, "drop": the connection is
// closed before any response). The answer lists the faults met so far. Every other request goes
// to the emulator unchanged.
'use strict';
const http = require('http');
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.js PORT');
  process.exit(2);
}
// its clean-up timer never runs (start() is not called): every message is kept for the whole run
const emulator = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 3600 });

const queued = {}; // Bot API method -> faults still to inject, in order
const met = []; // [{method, fault}] injected so far

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      try { resolve(body ? JSON.parse(body) : {}); } catch (err) { reject(err); }
    });
    req.on('error', reject);
  });
}

function sendJson(res, status, payload) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(payload));
}

async function controlFaults(req, res) {
  try {
    const { method, faults } = await readJson(req);
    if (method && Array.isArray(faults)) {
      queued[method] = (queued[method] || []).concat(faults);
    }
    sendJson(res, 200, { ok: true, result: { queued, met } });
  } catch (err) {
    sendJson(res, 400, { ok: false, description: String(err) });
  }
}

const front = http.createServer((req, res) => {
  if (req.url === '/quotebot/faults') {
    controlFaults(req, res);
    return;
  }
  const match = /^\/bot[^/]+\/([A-Za-z]+)/.exec(req.url);
  const fault = match && queued[match[1]] && queued[match[1]].shift();
  if (fault) {
    met.push({ method: match[1], fault });
  }
  if (fault === 'drop') {
    req.socket.destroy();
  } else if (fault === '429') {
    sendJson(res, 429, {
      ok: false,
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
  } else {
    emulator.webServer(req, res);
  }
});

front.listen(port, '127.0.0.1', () => console.log(`READY ${port}`));
front.on('error', (err) => { console.error(err); process.exit(1); });

function stop() {
  front.close();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
