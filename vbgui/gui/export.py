"""Export a plot panel to PNG (pyqtgraph's ImageExporter) or SVG (Qt's SVG generator)."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters as exporters
from PySide6.QtCore import QBuffer, QIODevice, QRect
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator

from vbgui.errors import VbguiError
from vbgui.io.safe_write import write_file

EXPORT_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"


def _svg_bytes(view: pg.GraphicsView, title: str) -> bytes:
    """Render the view as vector graphics.

    pyqtgraph 0.14's SVGExporter cannot parse the path data that the Qt 6
    SVG generator writes (it expects "x,y" pairs), so the view is rendered
    straight into a QSvgGenerator instead.
    """
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(view.size())
    generator.setViewBox(QRect(0, 0, view.width(), view.height()))
    generator.setTitle(title)
    painter = QPainter(generator)
    try:
        view.render(painter)
    finally:
        painter.end()
    return bytes(buffer.data())


def _png_bytes(view: pg.GraphicsView) -> bytes:
    image = exporters.ImageExporter(view.scene()).export(toBytes=True)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if image is None or not image.save(buffer, "PNG"):
        raise VbguiError("the plot could not be rendered as PNG")
    return bytes(buffer.data())


def export_plot(view: pg.GraphicsView, path: str | Path, force: bool = False) -> Path:
    """Write everything ``view`` shows to ``path`` (.png or .svg; no suffix means .png).

    The file is complete or absent (:mod:`vbgui.io.safe_write`).  ``force``
    (the save dialog asked about ``path``) allows replacing ``path`` itself,
    never another name reached by adding the suffix.
    """
    chosen = Path(path)
    path = chosen if chosen.suffix.lower() in (".png", ".svg") else chosen.with_suffix(".png")
    content = _svg_bytes(view, path.stem) if path.suffix.lower() == ".svg" else _png_bytes(view)
    try:
        return write_file(path, lambda handle: handle.write(content), force=force and path == chosen)
    except OSError as exc:
        raise VbguiError(f"{path}: the plot could not be written ({exc.strerror or exc})") from None
