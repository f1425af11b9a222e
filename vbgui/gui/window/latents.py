"""Reopening a latent-dynamics result: File > Open result shows it in the Latents view, a window of its own.

The main window's panels show a GLM's weights; a latent-dynamics result
(``vbgui fit --preset poisson-lds``) has latent paths and loadings instead, so
it opens in :class:`~vbgui.gui.latents_view.LatentsView`, one per main window,
reused for the next such result and closed with the main window.  When the data are a synthetic population
that can be regenerated, the true path is drawn too (:mod:`vbgui.app.lds_truth`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMainWindow

from vbgui.app.lds_result import LdsFitResult, is_lds_result
from vbgui.app.lds_truth import aligned_truth
from vbgui.gui.close_with_owner import CloseWithOwner


def latents_view(owner: QMainWindow, create: bool = True):
    """The owner's Latents view, created (and set to close with ``owner``) on first use."""
    from vbgui.gui.latents_view import LatentsView

    found = owner.findChild(LatentsView)
    if found is None and create:
        found = LatentsView(parent=owner)
        owner.installEventFilter(CloseWithOwner(lambda main: latents_view(main, create=False), found))
    return found


def open_latents_result(owner: QMainWindow, data: dict[str, Any], path: Path) -> bool:
    """Show ``data`` (read from ``path``) in the Latents view if it is a latent-dynamics result; False when it
    is not one (the caller opens it as a GLM result).  A malformed one raises the project's error."""
    if not is_lds_result(data):
        return False
    result = LdsFitResult.from_dict(data, source=str(path))
    view = latents_view(owner)
    view.show_result(result, path, aligned_truth(result))
    view.show()
    view.raise_()
    owner.show_status(f"Reopened {path.name} (no refit): {result.family} q over {result.n_bins} bins, "
                      f"{result.latent_mean.shape[1]} latents, in the Latents window.")
    return True
