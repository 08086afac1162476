"""The ``emulator`` fixture: a factory of loopback BRAIN emulators (alpha_core.brain.emulator) on the real panel."""
import contextlib

import pytest

EMAIL = "someone@example.com"
PASSWORD = "emulator-secret"


@pytest.fixture
def emulator(real_panel):
    """``emulator(**config_overrides)`` -> a started ``EmulatorHandle`` (``.url``, ``.state``, ``.set_faults``,
    ``.config``: credentials ``someone@example.com`` / ``emulator-secret`` unless overridden), stopped at
    teardown. Several may run at once."""
    from alpha_core.brain.emulator import EmulatorConfig, run_in_thread

    with contextlib.ExitStack() as stack:
        def start(**overrides):
            config = EmulatorConfig(**{"email": EMAIL, "password": PASSWORD, **overrides})
            return stack.enter_context(run_in_thread(config, panel=real_panel))

        yield start
