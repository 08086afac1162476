"""The loopback BRAIN emulator (BRAIN_API.md §13; issue 14 item 3).

A real HTTP server (Starlette on uvicorn) that answers BRAIN's REST paths with the local simulator as its
engine, for tests, dry runs and the UI demo. It never calls the real API and binds 127.0.0.1 only.

- ``EmulatorConfig`` (the account and knobs), ``FAULTS`` (every fault switch, name -> description).
- ``create_app(config, panel=None)`` -> the Starlette app (``app.state.emulator`` holds the state).
- ``run_in_thread(config, panel=None, port=0)`` -> context manager yielding an ``EmulatorHandle`` with ``url``,
  ``state`` (``EmulatorState`` counters), ``set_faults`` and ``reset``; the server runs in a daemon thread.
- ``alpha brain-emulator`` (``alpha_core.cli.cmd_brain_emulator``): the same, in the foreground until Ctrl-C.

Admin paths (no session needed): ``GET /_emulator/state``, ``GET /_emulator/log``, ``PUT /_emulator/faults``
``{"faults": [...]}``, ``POST /_emulator/reset`` (daily quota counter).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

from typing import TYPE_CHECKING

from alpha_core.brain.emulator.config import FAULTS, EmulatorConfig, faults_help
from alpha_core.loopback import LOOPBACK

if TYPE_CHECKING:
    from alpha_core.brain.emulator.app import Emulator, EmulatorState

__all__ = ["FAULTS", "EmulatorConfig", "EmulatorState", "EmulatorHandle", "EmulatorError", "create_app",
           "run_in_thread", "check_loopback", "faults_help", "LOOPBACK"]


def __getattr__(name: str):
    """``create_app`` and ``EmulatorState`` load the server module (Starlette, the simulator) on first use, so
    ``alpha --help`` (which prints ``FAULTS``) stays light."""
    if name in ("create_app", "EmulatorState"):
        from alpha_core.brain.emulator import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class EmulatorError(RuntimeError):
    """The emulator cannot start: a host other than 127.0.0.1, or the port cannot be bound."""


@dataclass
class EmulatorHandle:
    """A running emulator: ``url`` (``http://127.0.0.1:<port>``), ``port``, ``config``, ``emulator`` (the
    server object) and its ``state``."""

    url: str
    port: int
    config: EmulatorConfig
    emulator: "Emulator"

    @property
    def state(self) -> "EmulatorState":
        """Live counters: logins, posts per expression, 429s / 5xx / drops sent, quota used, submissions..."""
        return self.emulator.state

    def set_faults(self, *faults: str) -> None:
        """Replace the active faults (names of ``FAULTS``; none = all off). Raises ``ValueError`` naming an
        unknown fault."""
        names = [f for item in faults for f in ([item] if isinstance(item, str) else item)]
        self.emulator.set_faults(frozenset(names))

    def reset(self) -> None:
        """Reset the daily quota counter."""
        self.emulator.reset()


def check_loopback(host: str) -> None:
    """Raise ``EmulatorError`` unless ``host`` is 127.0.0.1 (the emulator never listens on a network)."""
    if host != LOOPBACK:
        raise EmulatorError(f"the BRAIN emulator binds {LOOPBACK} only (loopback), not {host!r}")


@contextlib.contextmanager
def run_in_thread(config: EmulatorConfig, panel=None, port: int = 0, host: str = LOOPBACK
                  ) -> Iterator[EmulatorHandle]:
    """Serve the emulator on ``host``:``port`` (0 = a free port) in a daemon thread; yields once it accepts
    connections, stops it on exit. Raises ``EmulatorError`` for a non-loopback host or a port it cannot bind."""
    from alpha_core.brain.emulator.app import create_app
    from alpha_core.loopback import LoopbackError, serve_in_thread

    check_loopback(host)
    app = create_app(config, panel)
    try:
        with serve_in_thread(app, port, "brain-emulator") as bound:
            yield EmulatorHandle(f"http://{host}:{bound}", bound, config, app.state.emulator)
    except LoopbackError as exc:
        raise EmulatorError(f"the BRAIN emulator: {exc}") from None
    finally:
        app.state.emulator.close()
