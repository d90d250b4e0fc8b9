"""Test-only Bot API: the telegram-test-api emulator (``tests/e2e/server.js``) and an adapter
for its quirks.

Used by ``benchmarks/bot_load.py`` and ``tests/test_bot_e2e.py``; it lives here because the
benchmarks never import the test suite, while tests may import benchmarks. Everything listens on
127.0.0.1 and every wait is bounded. The adaptations live in ``EmulatorRequest`` only; the bot is
unchanged.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from telegram.request import HTTPXRequest, RequestData

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"  # the node side and its packages
SERVER_JS = E2E_DIR / "server.js"
NODE_MODULES = E2E_DIR / "node_modules" / "telegram-test-api"
EMULATOR_BOT_ID = 666  # what the emulator's getMe reports
EMULATOR_BOT_NAME = "TestNameBot"

# Methods telegram-test-api does not implement; the adapter answers them itself (and records them)
STUBBED_METHODS = {
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "sendChatAction",
    "answerInlineQuery",
    "setChatMenuButton",
    "close",
    "logOut",
}


def emulator_available() -> str | None:
    """None when the emulator can run, else the reason it cannot (for ``pytest.skip``)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not NODE_MODULES.is_dir():
        return "telegram-test-api is not installed: run `npm ci --prefix tests/e2e`"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """The node emulator process plus its client API (acting as Telegram users)."""

    def __init__(self, token: str, start_timeout: float = 20.0) -> None:
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self._start()
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(SERVER_JS), str(self.port)],
            cwd=E2E_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = threading.Event()

        def wait_ready() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("READY"):
                    ready.set()
                    return

        threading.Thread(target=wait_ready, daemon=True).start()
        if not ready.wait(self.start_timeout):
            self._stop_process()
            raise RuntimeError(f"the emulator did not start within {self.start_timeout} s")

    def _stop_process(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # server.js stops when its stdin ends
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        if hasattr(self, "client"):
            self.client.close()
        self._stop_process()

    def kill(self) -> None:
        """``kill -9`` the emulator: its port refuses connections and everything stored is gone."""
        self.proc.kill()
        self.proc.wait(10)
        self._stop_process()

    def start_again(self) -> None:
        """Start a fresh emulator on the same port, as after a crash and a restart."""
        self._start()

    def inject(self, method: str, faults: list[str]) -> None:
        """Queue faults for the next calls of a Bot API method (see server.js): "429", "drop"."""
        response = self.client.post("/quotebot/faults", json={"method": method, "faults": faults})
        response.raise_for_status()

    def faults(self) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
        """(faults still queued per method, faults met so far in order)."""
        result = self.client.post("/quotebot/faults", json={}).json()["result"]
        return result["queued"], result["met"]

    # ---- acting as users -----------------------------------------------------------------

    @staticmethod
    def user(uid: int) -> dict[str, Any]:
        return {"id": uid, "is_bot": False, "first_name": f"User{uid}", "username": f"user{uid}"}

    @staticmethod
    def chat(chat_id: int, kind: str = "private") -> dict[str, Any]:
        if kind == "private":
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": kind, "title": "Newsroom"}

    def send_text(
        self,
        uid: int,
        text: str,
        chat_id: int | None = None,
        kind: str = "private",
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> None:
        """A user writes ``text``; commands get their bot_command entity as Telegram adds it."""
        if entities is None and text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message: dict[str, Any] = {
            "botToken": self.token,
            "from": self.user(uid),
            "chat": self.chat(chat_id if chat_id is not None else uid, kind),
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.client.post("/sendMessage", json=message).raise_for_status()

    def press(self, uid: int, bot_message: dict[str, Any], data: str) -> None:
        """A user presses an inline button under ``bot_message`` (from ``bot_messages``)."""
        query = {
            "botToken": self.token,
            "from": self.user(uid),
            "data": data,
            "message": self.as_telegram_message(bot_message),
        }
        self.client.post("/sendCallback", json=query).raise_for_status()

    # ---- reading what the bot did ----------------------------------------------------------

    def history(self) -> list[dict[str, Any]]:
        response = self.client.post("/getUpdatesHistory", json={"token": self.token})
        response.raise_for_status()
        return list(response.json()["result"])

    def bot_messages_since(
        self, after: int, chat_id: int | None = None, timeout: float = 0.0
    ) -> list[dict[str, Any]]:
        """The bot's messages with ``messageId > after`` (oldest first), waiting up to ``timeout``
        seconds for one to arrive; cheap, unlike ``history``, which returns everything."""
        query: dict[str, Any] = {"token": self.token, "after": after, "timeout": timeout}
        if chat_id is not None:
            query["chatId"] = chat_id
        response = self.client.post("/quotebot/botMessages", json=query, timeout=timeout + 10)
        response.raise_for_status()
        return list(response.json()["result"])

    def user_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [
            u
            for u in self.history()
            if "message" in u
            and "chat_id" not in u["message"]
            and u["message"].get("chat", {}).get("id") == chat_id
        ]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to ``chat_id``, oldest first, as edited since."""
        return [
            u
            for u in self.history()
            if "message" in u
            and "chat_id" in u["message"]
            and str(u["message"]["chat_id"]) == str(chat_id)
        ]

    @staticmethod
    def as_telegram_message(stored: dict[str, Any]) -> dict[str, Any]:
        msg = stored["message"]
        return {
            "message_id": stored["messageId"],
            "date": int(stored["time"] / 1000),
            "chat": {"id": int(msg["chat_id"]), "type": "private"},
            "text": msg["text"],
            "from": {
                "id": EMULATOR_BOT_ID,
                "is_bot": True,
                "first_name": "Bot",
                "username": EMULATOR_BOT_NAME,
            },
        }

    def wait_for(
        self, check: Callable[[], Any], timeout: float = 30.0, what: str = "the bot"
    ) -> Any:
        """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class EmulatorRequest(HTTPXRequest):
    """TEST-ONLY adapter between python-telegram-bot and telegram-test-api.

    The emulator differs from the Bot API in ways PTB rejects; each fix is listed here and in
    docs/bot.md. It never changes what the bot sends, only what the emulator answers:

    * methods it lacks (``STUBBED_METHODS``) are answered ``true`` here and recorded in ``stubbed``;
    * ``getMe`` lacks ``is_bot`` (and the capability flags);
    * message dates come back in milliseconds; they are turned into seconds;
    * returned messages echo the request's form fields (``link_preview_options`` as a JSON
      string, ...), which PTB cannot parse; only the message's own fields are kept;
    * edits and ``answerCallbackQuery`` return ``null``; Telegram returns ``true``;
    * callback queries lack ``chat_instance`` and their message lacks a date.

    (The emulator also ignores ``getUpdates``' ``timeout``; ``server.js`` adds long polling.)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # bounded, so that a long load run does not grow the bot process through it
        self.stubbed: deque[tuple[str, dict[str, Any]]] = deque(maxlen=1000)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        if name in STUBBED_METHODS:
            params = dict(request_data.parameters) if request_data else {}
            self.stubbed.append((name, params))
            return 200, b'{"ok": true, "result": true}'
        status, body = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        payload = json.loads(body) if body else {}
        if status != 200 or not isinstance(payload, dict):
            return status, body
        payload["result"] = self._fix(name, payload.get("result"))
        return status, json.dumps(payload).encode()

    @staticmethod
    def _fix(name: str, result: Any) -> Any:
        if name == "getMe":
            return {
                **result,
                "is_bot": True,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": True,
            }
        if result is None:
            return True
        if name == "getUpdates":
            for update in result:
                query = update.get("callback_query")
                if query is not None:
                    query.setdefault("chat_instance", str(query["from"]["id"]))
                    query.get("message", {}).setdefault("date", int(time.time()))
                msg = update.get("message")
                if msg is not None:
                    msg.pop("botToken", None)
            return result
        if isinstance(result, dict) and "message_id" in result:
            # the emulator echoes the request's form fields (JSON strings such as
            # link_preview_options) into the message it returns: keep the message's own fields
            date = int(result.get("date", 0))
            message = {
                "message_id": result["message_id"],
                "chat": result["chat"],
                "date": date // 1000 if date > 10_000_000_000 else date,  # milliseconds
                "from": {
                    "id": EMULATOR_BOT_ID,
                    "is_bot": True,
                    "first_name": "Bot",
                    "username": EMULATOR_BOT_NAME,
                },
            }
            if isinstance(result.get("text"), str):
                message["text"] = result["text"]
            if isinstance(result.get("reply_markup"), dict):
                message["reply_markup"] = result["reply_markup"]
            return message
        return result
