"""Export a plot panel to PNG (pyqtgraph's ImageExporter) or SVG (Qt's SVG generator)."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters as exporters
from PySide6.QtCore import QRect
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator

from vbgui.errors import VbguiError

EXPORT_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"


def _write_svg(view: pg.GraphicsView, path: Path) -> None:
    """Render the view as vector graphics.

    pyqtgraph 0.14's SVGExporter cannot parse the path data that the Qt 6
    SVG generator writes (it expects "x,y" pairs), so the view is rendered
    straight into a QSvgGenerator instead.
    """
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(view.size())
    generator.setViewBox(QRect(0, 0, view.width(), view.height()))
    generator.setTitle(path.stem)
    painter = QPainter(generator)
    try:
        view.render(painter)
    finally:
        painter.end()


def export_plot(view: pg.GraphicsView, path: str | Path) -> Path:
    """Write everything ``view`` shows to ``path`` (.png or .svg; no suffix means .png)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        path = path.with_suffix(".png")
    if not path.parent.is_dir():
        raise VbguiError(f"{path}: the folder {path.parent} does not exist")
    if path.suffix.lower() == ".svg":
        _write_svg(view, path)
    else:
        exporters.ImageExporter(view.scene()).export(str(path))
    if not path.is_file() or path.stat().st_size == 0:
        raise VbguiError(f"{path}: the plot could not be written (check that the folder is writable)")
    return path
