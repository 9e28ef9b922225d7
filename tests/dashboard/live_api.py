"""The real API on a real port, for a real browser; stopped and started again at will."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from api.app import create_app
from firewatch.settings import Settings
from tests.services import wait_until


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[str]:
    """The API in a thread; leaving stops it, open streams included (1 s grace)."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning",
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=15, what=f"the API on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    assert not thread.is_alive(), "the API did not stop"
