"""``vbgui --selftest``: drive the real window through a fit of each family, an export and a read-back.

Runs in an existing QApplication (offscreen is fine), with settings in a
temporary file so the user's own are never touched.  Prints one line per
check and returns 0 when all pass, 1 otherwise.
"""
from __future__ import annotations

import math
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, QTimer

from vbgui.app.result import FitResult
from vbgui.io.exports import EXPORT_FORMATS, read_export

FAMILIES = ("mean-field", "structured", "full-rank")
PRESET = "poisson-glm"
FIT_TIMEOUT_S = 300
# ELBOs of nested families at their optima: tolerance for the optimiser's own stopping rule, in nats
ELBO_TOLERANCE = 1e-3


class SelfTestFailure(Exception):
    """A check did not hold; the message says which and why."""


def _wait_for_fit(window) -> FitResult:
    """Start a fit and run the event loop until it ends; the result, or SelfTestFailure."""
    loop = QEventLoop()
    outcome: list[object] = []
    window.fit_finished.connect(outcome.append)
    window.fit_failed.connect(outcome.append)
    window.fit_finished.connect(loop.quit)
    window.fit_failed.connect(loop.quit)
    try:
        if not window.run_fit():
            raise SelfTestFailure(f"the fit did not start ({window.last_error or 'Run is disabled'})")
        QTimer.singleShot(FIT_TIMEOUT_S * 1000, loop.quit)
        if not outcome:
            loop.exec()
    finally:
        for signal in (window.fit_finished, window.fit_failed):
            signal.disconnect()
    if not outcome:
        window.stop_fit()
        raise SelfTestFailure(f"the fit did not end within {FIT_TIMEOUT_S} s")
    if isinstance(outcome[0], str):
        raise SelfTestFailure(f"the fit failed: {outcome[0]}")
    return outcome[0]


class SelfTest:
    """The checks, in order; each returns the line to print or raises SelfTestFailure."""

    def __init__(self, window, folder: Path) -> None:
        self.window = window
        self.folder = folder
        self.results: dict[str, FitResult] = {}

    def sample_loaded(self) -> str:
        recording = self.window.recording
        if recording is None:
            raise SelfTestFailure(f"no sample recording loaded ({self.window.last_error})")
        return f"sample recording {Path(recording.source).name}: {recording.n_bins:,} bins"

    def fit(self, family: str) -> str:
        panel = self.window.preset_panel
        panel.select(PRESET)
        panel.estimator.setCurrentText("exact")
        panel.set_family(family)
        started = time.perf_counter()
        result = _wait_for_fit(self.window)
        if result.family != family:
            raise SelfTestFailure(f"asked for a {family} fit, got {result.family}")
        if not (math.isfinite(result.elbo) and np.all(np.isfinite(result.mean)) and np.all(np.isfinite(result.cov))):
            raise SelfTestFailure(f"{family} fit: non-finite ELBO or parameters ({result.message})")
        if not result.converged:
            raise SelfTestFailure(f"{family} fit did not converge ({result.stop_reason}: {result.message})")
        if len(self.window.elbo_plot.elbo_curve.getData()[1]) != len(result.trace.elbo):
            raise SelfTestFailure(f"{family} fit: the ELBO curve does not hold the trace")
        self.results[family] = result
        return (f"{family} fit: ELBO {result.elbo:,.3f} nats after {result.iterations} iterations "
                f"({time.perf_counter() - started:.2f} s)")

    def elbo_order(self) -> str:
        elbo = {family: self.results[family].elbo for family in FAMILIES}
        for richer, poorer in (("full-rank", "structured"), ("structured", "mean-field")):
            if elbo[richer] < elbo[poorer] - ELBO_TOLERANCE:
                raise SelfTestFailure(f"ELBO of {richer} ({elbo[richer]:.4f}) is below {poorer} ({elbo[poorer]:.4f})")
        return "ELBO ordering: full-rank >= structured >= mean-field"

    def export(self, suffix: str) -> str:
        result = self.results["full-rank"]
        path = self.folder / f"selftest-result{suffix}"
        if not self.window.write_result(path):
            raise SelfTestFailure(f"export to {path.name} failed: {self.window.last_error}")
        back = read_export(path)
        if list(back["names"]) != list(result.names):
            raise SelfTestFailure(f"{path.name}: parameter names differ after the round trip")
        for key in ("mean", "sd", "cov"):
            if not np.all(np.isfinite(back[key])):
                raise SelfTestFailure(f"{path.name}: '{key}' has non-finite values")
        if not np.allclose(back["mean"], result.mean, rtol=1e-12, atol=0.0):
            raise SelfTestFailure(f"{path.name}: the posterior means differ after the round trip")
        if not math.isclose(float(back["metadata"]["elbo"]), result.elbo, rel_tol=1e-12):
            raise SelfTestFailure(f"{path.name}: the ELBO differs after the round trip")
        return f"export {path.name}: {len(result.names)} parameters read back identical"

    def reopen(self) -> str:
        path = self.folder / "selftest-result.json"
        if not self.window.open_result(path):
            raise SelfTestFailure(f"reopening {path.name} failed: {self.window.last_error}")
        if self.window.result is None or self.window.result.names != self.results["full-rank"].names:
            raise SelfTestFailure(f"reopening {path.name} did not show its fit")
        return f"reopened {path.name} in the window without refitting"

    def checks(self) -> list[tuple[str, Callable[[], str]]]:
        steps: list[tuple[str, Callable[[], str]]] = [("sample", self.sample_loaded)]
        steps += [(f"fit {family}", lambda f=family: self.fit(f)) for family in FAMILIES]
        steps.append(("ELBO ordering", self.elbo_order))
        steps += [(f"export {suffix}", lambda s=suffix: self.export(s)) for suffix in EXPORT_FORMATS]
        steps.append(("reopen", self.reopen))
        return steps


def run_selftest(say: Callable[[str], None] = print) -> int:
    """Run every check in a fresh window; 0 when all pass, 1 at the first failure (printed)."""
    from vbgui.gui.main_window import MainWindow

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vbgui-selftest-") as folder:
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.show()
        selftest = SelfTest(window, Path(folder))
        try:
            for name, check in selftest.checks():
                try:
                    say(f"selftest: ok    {check()}")
                except SelfTestFailure as failure:
                    say(f"selftest: FAIL  {name}: {failure}")
                    return 1
                except Exception:  # noqa: BLE001 - a bug is a failed check, with where it happened
                    say(f"selftest: FAIL  {name}: unexpected error\n{traceback.format_exc()}")
                    return 1
        finally:
            window.close()
            window.deleteLater()
    say(f"selftest: all checks passed in {time.perf_counter() - started:.1f} s")
    return 0
