"""What the command-line tests share: running vbgui in a subprocess under a memory limit,
the one-line refusal they expect, and Ctrl-C sent once a command is under way."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from typing import Callable


def address_space_limit(limit_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` capping the child's address space, so a memory bomb fails the test, not the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return limit


def run_vbgui(*args, limit_bytes: int | None = 2 * 2 ** 30, env_extra: dict[str, str] | None = None,
              timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m vbgui ARGS`` with the default memory budget (VBGUI_MEMORY_LIMIT unset) and an address-space cap."""
    env = {key: value for key, value in os.environ.items() if key != "VBGUI_MEMORY_LIMIT"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "vbgui", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env,
                          preexec_fn=address_space_limit(limit_bytes) if limit_bytes else None)


def assert_refused(completed: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 2, one line on stderr starting 'vbgui: error: ', holding every fragment, no traceback."""
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr, completed.stderr
    assert completed.stderr.startswith("vbgui: error: ")
    for fragment in fragments:
        assert fragment in completed.stderr, completed.stderr


def interrupt_when(process: subprocess.Popen, started: Callable[[str], bool],
                   settle_seconds: float = 0.0) -> tuple[int, float, str]:
    """Read stderr until a line satisfies ``started``, wait ``settle_seconds``, send SIGINT.

    Returns (exit status, seconds from the signal to the exit, the rest of stderr).
    """
    try:
        lines: list[str] = []
        while not any(started(line) for line in lines):
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        time.sleep(settle_seconds)
        sent = time.perf_counter()
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=10)
        elapsed = time.perf_counter() - sent
    finally:
        process.kill()
    return status, elapsed, process.stderr.read()
