"""The API on a real socket, for clients that must stream (SSE) or come from another process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.services import free_port, wait_until


@contextmanager
def serving(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Runs ``app`` under uvicorn in a thread (on ``port``, to start it again where a client
    expects it); yields its base URL. Leaving stops it, open streams included."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, what=f"the API on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    assert not thread.is_alive(), "the API did not stop"
