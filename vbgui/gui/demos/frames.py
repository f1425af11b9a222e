"""Export a demonstration's run as numbered PNG frames, for a talk given without the laptop.

No GIF writer is installed (Qt's image plugins read GIF but cannot write
it, and Pillow is not a dependency), so a run becomes a folder of PNG
frames; any slide software or ``ffmpeg -framerate 25 -i frame-%04d.png``
turns them into a film.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice

from vbgui.errors import OutputFileError, VbguiError
from vbgui.gui.demos.page import DemoPage
from vbgui.io.safe_write import write_file

FRAMES_PER_SECOND = 25


def existing_frames(folder: str | Path) -> list[Path]:
    """The frame files an earlier export left in ``folder``."""
    folder = Path(folder)
    return sorted(folder.glob("frame-*.png")) if folder.is_dir() else []


def _png_bytes(page: DemoPage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not page.stage.grab().save(buffer, "PNG"):
        raise VbguiError("the frame could not be rendered as PNG")
    return bytes(buffer.data())


def export_frames(page: DemoPage, folder: str | Path, frames_per_second: float = FRAMES_PER_SECOND,
                  force: bool = False) -> list[Path]:
    """Write every frame of the page's run (its stage: heading, plots, read-outs) as folder/frame-NNNN.png.

    A folder holding frames of an earlier export is refused (OutputFileError) unless ``force``; then
    the earlier frames are replaced and those beyond the new run's length removed, so the folder
    holds one run only.
    """
    folder = Path(folder)
    earlier = existing_frames(folder)
    if earlier and not force:
        raise OutputFileError(f"{folder}: already holds {len(earlier)} frames of an earlier export; not overwritten")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VbguiError(f"{folder}: cannot create the folder for the frames ({exc.strerror})") from None
    written = []
    try:
        for index in page.animation_frames(frames_per_second):
            content = _png_bytes(page)
            written.append(write_file(folder / f"frame-{index:04d}.png", lambda handle: handle.write(content),
                                      force=force))
        for stale in set(earlier) - set(written):
            stale.unlink(missing_ok=True)
    except OSError as exc:
        raise VbguiError(f"{folder}: the frames could not be written ({exc.strerror or exc})") from None
    return written
