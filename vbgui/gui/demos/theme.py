"""Colours and sizes of the demonstrations: Okabe-Ito roles, light and dark themes, presentation sizes.

Every colour comes from the Okabe-Ito palette (Okabe & Ito 2008), designed
to stay distinguishable with the common colour-vision deficiencies; lines
that must be told apart also differ in dash pattern, so nothing rests on
colour alone.
"""
from __future__ import annotations

from dataclasses import dataclass

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}


@dataclass(frozen=True)
class Theme:
    """Background, foreground and one colour per plotted role."""

    name: str
    background: str
    foreground: str
    muted: str
    colours: dict[str, str]

    def colour(self, role: str) -> str:
        return self.colours[role]


def _roles(ink: str, blue: str) -> dict[str, str]:
    return {
        "target": ink,
        "mean-field": OKABE_ITO["vermillion"],
        "full-rank": blue,
        "moment-matched": OKABE_ITO["bluish green"],
        "variance-ratio": OKABE_ITO["bluish green"],  # beside the KL (vermillion) in the theory plot
        "reference": ink,
        "marker": OKABE_ITO["reddish purple"],
        "reparam-1": OKABE_ITO["orange"],
        "reparam-10": OKABE_ITO["reddish purple"],
        "reparam-100": blue,
        "exact": ink,
        "encoder": OKABE_ITO["orange"],
        "refined": OKABE_ITO["bluish green"],
    }


LIGHT = Theme("light", background="#FFFFFF", foreground="#000000", muted="#555555",
              colours=_roles(OKABE_ITO["black"], OKABE_ITO["blue"]))
# On black, Okabe-Ito's blue is too dark to read: its sky blue takes the role.
DARK = Theme("dark", background="#000000", foreground="#FFFFFF", muted="#BBBBBB",
             colours=_roles("#FFFFFF", OKABE_ITO["sky blue"]))
THEMES = {theme.name: theme for theme in (LIGHT, DARK)}


@dataclass(frozen=True)
class Sizes:
    """Font sizes in pixels and line widths in pixels, for the desk or for a projector."""

    title_px: int
    label_px: int
    tick_px: int
    text_px: int
    heading_px: int
    line: float
    thin_line: float
    marker: int


DESK = Sizes(title_px=16, label_px=14, tick_px=12, text_px=14, heading_px=18, line=2.5, thin_line=1.5, marker=10)
# A 1080p projector read from 10 m: axis labels of at least 24 px, lines four pixels wide.
PRESENTATION = Sizes(title_px=30, label_px=28, tick_px=22, text_px=26, heading_px=36, line=5.0, thin_line=3.0,
                     marker=20)
