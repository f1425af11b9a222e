"""Draw vbgui's icon: a tilted posterior (true) and the axis-aligned mean-field ellipse inside it.

    QT_QPA_PLATFORM=offscreen python tools/make_icon.py    # writes resources/icons/vbgui.png (256 px)
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter, QPen

SIZE = 256
OUT = Path(__file__).resolve().parent.parent / "resources" / "icons" / "vbgui.png"


def main() -> None:
    app = QGuiApplication.instance() or QGuiApplication([])
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QBrush(QColor("#ffffff")))
    painter.setPen(QPen(QColor("#1f2933"), 10))
    painter.drawRoundedRect(QRectF(8, 8, SIZE - 16, SIZE - 16), 44, 44)
    centre = QPointF(SIZE / 2, SIZE / 2)
    painter.translate(centre)
    painter.save()
    painter.rotate(-45)
    for scale, width in ((1.0, 9), (0.62, 9)):  # the true posterior: tilted, correlated
        painter.setPen(QPen(QColor("#0072B2"), width))  # Okabe-Ito blue
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(0, 0), 104 * scale, 36 * scale)
    painter.restore()
    painter.setPen(QPen(QColor("#D55E00"), 11))  # Okabe-Ito vermillion: mean-field, axis-aligned, too narrow
    painter.drawEllipse(QPointF(0, 0), 27, 27)
    painter.end()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(OUT)):
        raise SystemExit(f"cannot write {OUT}")
    print(f"wrote {OUT}")
    del app


if __name__ == "__main__":
    main()
