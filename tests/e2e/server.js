// Test-only: run the telegram-test-api Bot API emulator on 127.0.0.1:<port>.
// Prints "READY <port>" once listening; stops when its stdin closes (the pytest fixture exits).
'use strict';
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.js PORT');
  process.exit(2);
}
// storeTimeout: keep every message for the whole test run (seconds)
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 3600 });
server.start()
  .then(() => console.log(`READY ${port}`))
  .catch((err) => { console.error(err); process.exit(1); });

async function stop() {
  try { await server.stop(); } finally { process.exit(0); }
}
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
