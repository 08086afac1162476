"""Serve an ASGI app on loopback in a daemon thread (uvicorn): the BRAIN emulator (``alpha_core.brain.emulator``)
and the tests' fake LLM server share it."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Iterator

LOOPBACK = "127.0.0.1"


class LoopbackError(RuntimeError):
    """The server could not bind or did not start; the message names the host and port."""


@contextlib.contextmanager
def serve_in_thread(app, port: int = 0, name: str = "loopback") -> Iterator[int]:
    """Serve ``app`` (ASGI) on 127.0.0.1:``port`` (0 = a free port) in a daemon thread named ``name``; yields the
    bound port once the server accepts connections, stops it (graceful, 1 s) on exit. Raises ``LoopbackError``
    when the port cannot be bound or the server stops while starting."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise LoopbackError(f"cannot serve {name} on {LOOPBACK}:{port}: {exc.strerror}") from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)
    bound = sock.getsockname()[1]
    try:
        if not server.started:
            raise LoopbackError(f"{name} on {LOOPBACK}:{bound} stopped while starting")
        yield bound
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
