"""Test-only harness: the real bot in a thread of its own (the emulator: benchmarks/emulator.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from telegram.ext import Application


class BotThread:
    """Runs the real ``Application`` (``bot.app.serve``: polling) in a thread with its own loop."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        run: Callable[[], None],
        start_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None

        def target() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            try:
                run()
            except BaseException as exc:  # surfaced by stop() and by the fixture
                self.error = exc

        self.thread = threading.Thread(target=target, name="bot", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + start_timeout
        while not (app.running and app.updater is not None and app.updater.running):
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"the bot did not start: {self.error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start within {start_timeout} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        if self.loop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.app.stop_running)
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"the bot did not stop within {timeout} s")
        if self.error is not None:
            raise self.error
