"""Export a plot panel to PNG or SVG with pyqtgraph's exporters."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters as exporters

from vbgui.errors import VbguiError

EXPORT_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
PNG_SCALE = 2  # export PNGs at twice the on-screen size, for slides and papers


def export_plot(view: pg.GraphicsView, path: str | Path) -> Path:
    """Write everything ``view`` shows to ``path`` (.png or .svg; no suffix means .png)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        path = path.with_suffix(".png")
    scene = view.scene()
    if path.suffix.lower() == ".svg":
        exporter = exporters.SVGExporter(scene)
    else:
        exporter = exporters.ImageExporter(scene)
        exporter.parameters()["width"] = int(scene.sceneRect().width() * PNG_SCALE)
    try:
        exporter.export(str(path))
    except OSError as exc:
        raise VbguiError(f"{path}: cannot write the plot ({exc})") from None
    if not path.is_file():
        raise VbguiError(f"{path}: the plot could not be written (check the folder exists and is writable)")
    return path
