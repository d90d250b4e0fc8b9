// Test-only: run the telegram-test-api Bot API emulator on 127.0.0.1:<port>.
// Prints "READY <port>" once listening; stops when its stdin closes (the pytest fixture exits).
//
// A thin HTTP front in this file adds what the tests and the load run need:
// - getUpdates honours `timeout` (long polling) as the Bot API does; the emulator answers at once;
// - POST /quotebot/faults {"method": "sendMessage", "faults": ["429", "drop"]} makes the next calls
//   of that Bot API method meet those faults in order ("429": flood control with retry_after 1,
//   "drop": the connection is closed before any response); the answer lists the faults met so far;
// - POST /quotebot/botMessages {"token", "after", "chatId"?, "timeout"?} returns the bot's messages
//   with messageId > after, waiting up to `timeout` seconds for one (a reply watcher that does not
//   re-read the whole history).
// Every other request goes to the emulator unchanged.
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

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function readJson(req) {
  const body = await readBody(req);
  return body ? JSON.parse(body) : {};
}

// Bot API parameters arrive as a form (python-telegram-bot) or as JSON
async function readParams(req) {
  const body = await readBody(req);
  if ((req.headers['content-type'] || '').includes('json')) {
    return body ? JSON.parse(body) : {};
  }
  const query = new URL(req.url, 'http://127.0.0.1').searchParams;
  return Object.fromEntries([...query, ...new URLSearchParams(body)]);
}

// Resolves when one of `events` fires, `ms` pass, or the client goes away (then gone() is true).
function waitFor(events, ms, res) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      events.forEach((e) => emulator.off(e, done));
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    events.forEach((e) => emulator.on(e, done));
    res.on('close', done);
  });
}

const USER_EVENTS = ['AddedUserMessage', 'AddedUserCommand', 'AddedUserCallbackQuery'];
const MAX_WAIT_S = 50;

async function longPoll(req, res, wait, fetch, events) {
  const gone = () => res.destroyed || res.writableEnded;
  const deadline = Date.now() + Math.min(Number(wait) || 0, MAX_WAIT_S) * 1000;
  let result = fetch();
  while (result.length === 0 && Date.now() < deadline) {
    await waitFor(events, deadline - Date.now(), res);
    if (gone()) {
      return; // the client left: keep its updates unread for the next call
    }
    result = fetch();
  }
  sendJson(res, 200, { ok: true, result });
}

async function getUpdates(req, res, token) {
  const params = await readParams(req);
  await longPoll(req, res, params.timeout, () => emulator.getUpdates(token), USER_EVENTS);
}

async function botMessages(req, res) {
  const { token, after, chatId, timeout } = await readJson(req);
  const fetch = () => emulator.storage.botMessages.filter((m) => m.botToken === token
    && m.messageId > (Number(after) || 0)
    && (chatId === undefined || String(m.message.chat_id) === String(chatId)));
  await longPoll(req, res, timeout, fetch, ['AddedBotMessage']);
}

function failed(res) {
  return (err) => {
    if (!res.headersSent) {
      sendJson(res, 400, { ok: false, error_code: 400, description: String(err) });
    }
  };
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
  if (req.url === '/quotebot/botMessages') {
    botMessages(req, res).catch(failed(res));
    return;
  }
  const match = /^\/bot([^/]+)\/([A-Za-z]+)/.exec(req.url);
  const method = match && match[2];
  const fault = method && queued[method] && queued[method].shift();
  if (fault) {
    met.push({ method, fault });
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
  } else if (method === 'getUpdates') {
    getUpdates(req, res, match[1]).catch(failed(res));
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
