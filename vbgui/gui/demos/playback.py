"""Play an optimiser's iterates back as a smooth animation on a QTimer.

An optimiser reports a handful of iterates (BFGS: 10-30), far apart at
first.  :class:`Playback` moves a position through them at ``SPEED``
iterates per second and draws the Gaussian interpolated between the two
iterates around it (means and covariances blended linearly; a convex
combination of covariances stays positive definite), so the ellipses glide
instead of jumping.

New paths (a refit while the slider moves) replace the old ones without
resetting the position: a running animation carries on along the new
paths, and a finished one shows the new optimum at once.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from vbgui.core.fit2d import Gaussian2D

FRAMES_PER_SECOND = 30  # smooth to the eye; a frame of thick antialiased ellipses costs ~15 ms to paint
SPEED = 6.0  # iterates per second


def interpolate(path: list[Gaussian2D], position: float) -> Gaussian2D:
    """The Gaussian ``position`` iterates along ``path`` (clamped to its ends)."""
    position = min(max(position, 0.0), len(path) - 1.0)
    index = min(int(position), len(path) - 2) if len(path) > 1 else 0
    if len(path) == 1:
        return path[0]
    fraction = position - index
    before, after = path[index], path[index + 1]
    return Gaussian2D((1 - fraction) * before.mean + fraction * after.mean,
                      (1 - fraction) * before.cov + fraction * after.cov)


class Playback(QObject):
    """Named paths of iterates (start first, optimum last) and a position that runs along them.

    ``frame`` is emitted whenever what should be drawn changes; ``running``
    says whether the timer advances the position.
    """

    frame = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths: dict[str, list[Gaussian2D]] = {}
        self.position = 0.0
        self.running = True
        self._last_tick = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / FRAMES_PER_SECOND))
        self.timer.timeout.connect(self._tick)

    @property
    def length(self) -> float:
        """Iterates to the end of the longest path."""
        return max((len(path) - 1 for path in self.paths.values()), default=0)

    @property
    def finished(self) -> bool:
        return self.position >= self.length

    def set_paths(self, paths: dict[str, list[Gaussian2D]]) -> None:
        was_finished = self.finished and bool(self.paths)
        self.paths = dict(paths)
        if was_finished:
            self.position = self.length
        self._update_timer()
        self.frame.emit()

    def current(self, name: str) -> Gaussian2D:
        return interpolate(self.paths[name], self.position)

    def restart(self) -> None:
        """Back to the start, playing."""
        self.position = 0.0
        self.running = True
        self._update_timer()
        self.frame.emit()

    def toggle(self) -> None:
        """Pause or resume (a finished animation restarts)."""
        if self.finished:
            self.restart()
            return
        self.running = not self.running
        self._update_timer()

    def seek(self, position: float) -> None:
        """Show the given position (exporting frames, tests); at the end the timer stops."""
        self.position = min(max(position, 0.0), self.length)
        self._update_timer()
        self.frame.emit()

    def _update_timer(self) -> None:
        if self.running and not self.finished:
            if not self.timer.isActive():
                self._last_tick = time.perf_counter()
                self.timer.start()
        else:
            self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        # a late tick (the GUI thread was busy) moves further, so the pace stays steady
        self.position = min(self.length, self.position + SPEED * (now - self._last_tick))
        self._last_tick = now
        self._update_timer()
        self.frame.emit()
