"""Export a demonstration's run as numbered PNG frames, for a talk given without the laptop.

No GIF writer is installed (Qt's image plugins read GIF but cannot write
it, and Pillow is not a dependency), so a run becomes a folder of PNG
frames; any slide software or ``ffmpeg -framerate 25 -i frame-%04d.png``
turns them into a film.
"""
from __future__ import annotations

from pathlib import Path

from vbgui.errors import VbguiError
from vbgui.gui.demos.page import DemoPage

FRAMES_PER_SECOND = 25


def export_frames(page: DemoPage, folder: str | Path, frames_per_second: float = FRAMES_PER_SECOND) -> list[Path]:
    """Write every frame of the page's run (its stage: heading, plots, read-outs) as folder/frame-NNNN.png."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VbguiError(f"{folder}: cannot create the folder for the frames ({exc.strerror})") from None
    written = []
    for index in page.animation_frames(frames_per_second):
        path = folder / f"frame-{index:04d}.png"
        if not page.stage.grab().save(str(path), "PNG"):
            raise VbguiError(f"{path}: the frame could not be written (check that the folder is writable)")
        written.append(path)
    return written
