"""The shared machinery of the 2-D demonstrations: a slider, a background refit, an animated fit plot.

A page describes a computation with :meth:`Fit2DPage.job` (Qt-free,
run by a :class:`~vbgui.gui.demos.jobs.LatestJobRunner` in a worker
thread) returning :class:`Fits`: the target, the path of every fit and
any numbers to show.  The slider's moves are coalesced by the runner
(latest request wins), so the GUI thread never fits and the animation
(:class:`~vbgui.gui.demos.playback.Playback`) keeps its pace while the
slider is dragged.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from vbgui.core.fit2d import Gaussian2D, Target
from vbgui.gui.demos.jobs import LatestJobRunner
from vbgui.gui.demos.page import DemoPage
from vbgui.gui.demos.playback import SPEED, Playback
from vbgui.gui.demos.plots import Contours


READOUT_HZ = 10  # rich-text read-outs re-lay themselves out: ten times a second is readable and cheap


@dataclass(frozen=True, eq=False)
class Fits:
    """What one refit produced: ``paths`` by fit name (start first, optimum last) and ``extras`` to show."""

    target: Target
    paths: dict[str, list[Gaussian2D]]
    extras: dict[str, Any] = field(default_factory=dict)
    requested_at: float = 0.0
    restart: bool = False

    def optimum(self, name: str) -> Gaussian2D:
        return self.paths[name][-1]


class ParameterSlider(QWidget):
    """A labelled slider over [low, high] in steps of ``step``; ``value()`` is the float."""

    def __init__(self, label: str, low: float, high: float, step: float, value: float, decimals: int = 2) -> None:
        super().__init__()
        self.label, self.step, self.decimals = label, step, decimals
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(low / step), round(high / step))
        self.slider.setValue(round(value / step))
        self.slider.setToolTip(f"{label} (arrow keys change it too)")
        self.text = QLabel()
        self.text.setMinimumWidth(90)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.text)
        self.slider.valueChanged.connect(self._show)
        self._show()

    def value(self) -> float:
        return round(self.slider.value() * self.step, 10)

    def set_value(self, value: float, quiet: bool = False) -> None:
        """Move the slider; ``quiet`` moves it without emitting valueChanged (restoring a scene)."""
        self.slider.blockSignals(quiet)
        self.slider.setValue(round(value / self.step))
        self.slider.blockSignals(False)
        self._show()

    def move(self, steps: int) -> None:
        self.slider.setValue(self.slider.value() + steps)

    def _show(self) -> None:
        self.text.setText(f"{self.label} = {self.value():.{self.decimals}f}")


class Fit2DPage(DemoPage):
    """A 2-D demonstration: subclasses build plots and controls, then implement compute and draw."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fits: Fits | None = None
        self._readout_at = 0.0
        self.refit_seconds: float | None = None
        self.target_contours: Contours | None = None
        self.fit_contours: dict[str, Contours] = {}
        self.animation = Playback(self)
        self.animation.frame.connect(self.draw_frame)
        self.runner = LatestJobRunner(f"vbgui-demo-{self.demo_name}", self)
        self.runner.finished.connect(self._on_fits)
        self.runner.failed.connect(self.show_message)

    # -- computing ----------------------------------------------------------------------------------
    def job(self) -> Callable[[], Fits]:
        """A closure over the current settings computing :class:`Fits`; it runs in the worker
        thread, so it must copy what it needs from the widgets now and read none later."""
        raise NotImplementedError

    def refit(self, restart: bool = False) -> None:
        """Ask for fits with the current settings; ``restart`` replays the animation from the start."""
        requested_at = time.perf_counter()
        job = self.job()

        def run() -> tuple[Fits, float, bool]:
            return job(), requested_at, restart

        self.runner.submit(run)

    def _on_fits(self, outcome: tuple[Fits, float, bool]) -> None:
        fits, requested_at, restart = outcome
        self.fits = fits
        self.message = ""
        self.draw_target(fits)
        self.animation.set_paths(fits.paths)
        if restart:
            self.animation.restart()
        self.refit_seconds = time.perf_counter() - requested_at
        self.updated.emit()

    def restart(self) -> None:
        self.refit(restart=True)

    def toggle_running(self) -> None:
        self.animation.toggle()

    def settled(self) -> bool:
        return self.fits is not None and not self.runner.busy and self.animation.finished

    def animation_frames(self, frames_per_second: float) -> Iterator[int]:
        """Seek through the whole run; the animation is left paused at its end."""
        self.animation.running = False
        self.animation.timer.stop()
        count = max(1, math.ceil(self.animation.length / SPEED * frames_per_second))
        for index in range(count + 1):
            self.animation.seek(self.animation.length * index / count)
            yield index

    # -- drawing ------------------------------------------------------------------------------------
    def draw_target(self, fits: Fits) -> None:
        """Draw what does not move during the animation (the target)."""

    def draw_frame(self) -> None:
        """Draw the fits at the animation's position, and the read-outs (at most READOUT_HZ while playing)."""
        if self.fits is None:
            return
        for name, contours in self.fit_contours.items():
            if name in self.animation.paths:
                contours.set_gaussian(self.animation.current(name))
            else:
                contours.clear()
        now = time.perf_counter()
        if not self.animation.timer.isActive() or now - self._readout_at >= 1.0 / READOUT_HZ:
            self._readout_at = now
            self.update_readout()

    def update_readout(self) -> None:
        """The numbers beside the plots, for the animation's current position."""

    def redraw(self) -> None:
        if self.fits is not None:
            self.draw_target(self.fits)
            self.draw_frame()

    def shutdown(self) -> None:
        self.animation.timer.stop()
        self.runner.shutdown()


def variance_ratios(q: Gaussian2D, target_cov: np.ndarray) -> np.ndarray:
    """var_q / var_p per axis."""
    return np.diag(q.cov) / np.diag(target_cov)
