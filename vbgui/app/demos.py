"""The teaching demonstrations: their names, explanations and replayable scenes.

A :class:`DemoScene` is everything needed to replay a demonstration
identically (target, correlation, seed, family, ...); it saves to and loads
from a small JSON file.  The computations live in :mod:`vbgui.core.fit2d`
and :mod:`vbgui.app.fit`; the GUI draws them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vbgui.errors import VbguiError
from vbgui.io.result_json import read_json, write_json

SCENE_VERSION = 1


@dataclass(frozen=True)
class Demo:
    name: str
    title: str
    explanation: str


DEMOS: tuple[Demo, ...] = (
    Demo("correlated-gaussian", "Correlated Gaussian posterior",
         "The target is a Gaussian whose two parameters are correlated (ρ). Mean-field q must be a product of "
         "independent factors, so its ellipse stays axis-aligned: it cannot tilt, and to avoid putting mass where "
         "the target has none it shrinks. Watch its variance fall to 1 − ρ² of the truth and its KL rise to "
         "−½ log(1 − ρ²). The full-rank fit tilts and matches the target exactly."),
    Demo("collinear-stimuli", "Collinear stimuli, real neuron",
         "A Poisson GLM of a grasshopper auditory receptor: adjacent taps of the stimulus filter are strongly "
         "correlated, so the posterior over two neighbouring weights is a narrow tilted ellipse. Mean-field fits "
         "an axis-aligned ellipse far too narrow and pays for it in the ELBO (the difference, in nats, is shown)."),
    Demo("heavy-tails", "Heavy tails and skew",
         "Reverse KL, KL(q || p), punishes q for putting mass where p has little, not for missing mass where p "
         "has some. So a Gaussian fit hugs the centre of a heavy-tailed or banana-shaped target and misses the "
         "tails: the number shows how much of the target's probability lies outside the fit's 99 % region."),
    Demo("two-modes", "Two modes",
         "With two separated modes, reverse KL picks one of them (which one depends on where the optimiser "
         "starts: press 'new start'). The moment-matched Gaussian (forward KL, KL(p || q)) instead covers both "
         "and puts its mass in the empty middle: the two KLs ask different questions."),
    Demo("noisy-gradients", "Noisy versus exact gradients",
         "The same model fitted four times: with Monte Carlo (reparameterisation) gradients from 1, 10 and 100 "
         "samples, and with the exact ELBO. Few samples give noisy curves that wander below the optimum; the "
         "exact objective reaches it in a handful of steps."),
    Demo("amortised-inference", "Amortised inference",
         "Fitting every unit of a recording exactly costs an optimisation each. Amortised inference learns once "
         "a map from a unit's data (here X'y and a few other summaries) to its q, from units fitted exactly, and "
         "then gives a new unit its q in one forward pass. The amortisation gap is what that shortcut costs in "
         "ELBO against the exact fit; one exact pass from the encoder's q nearly closes it. The approximation gap, "
         "KL from the best Gaussian to the true posterior, is the family's own limit: no encoder can beat it."),
    Demo("structure-over-time", "Structure over time",
         "A hidden state x drifts with time constant τ and drives a population's spike counts. Its posterior "
         "couples neighbouring bins; mean-field over time treats each bin as independent, so its ±2 sd bands are "
         "too narrow and miss the true path far more than 5 % of the time. Structured-markov q keeps the coupling "
         "of adjacent bins, at a Kalman smoother's cost, and is the best Gaussian over the path: the slower the "
         "dynamics, the more mean-field loses."),
)
DEMO_NAMES = tuple(d.name for d in DEMOS)


def demo(name: str) -> Demo:
    """The demonstration called name.

    Parameters
    ----------
    name : str
        One of DEMO_NAMES.

    Returns
    -------
    Demo
        Its name, title and explanation.

    Raises
    ------
    VbguiError
        For an unknown name.
    """
    for candidate in DEMOS:
        if candidate.name == name:
            return candidate
    raise VbguiError(f"no demonstration '{name}'; choose one of {', '.join(DEMO_NAMES)}")


@dataclass(frozen=True)
class DemoScene:
    """A replayable state of a demonstration."""

    demo: str
    rho: float = 0.8
    seed: int = 0
    families: tuple[str, ...] = ("mean-field", "full-rank")
    target: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        demo(self.demo)
        if not (isinstance(self.rho, (int, float)) and math.isfinite(self.rho) and -0.99 <= self.rho <= 0.99):
            raise VbguiError(f"scene: rho must be a number in [-0.99, 0.99], got {self.rho!r}")

    def to_dict(self) -> dict[str, Any]:
        """The scene as a JSON-ready dict, with its scene_version.

        Returns
        -------
        dict of str to object
            The scene.
        """
        return {"scene_version": SCENE_VERSION, **asdict(self), "families": list(self.families)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "scene") -> "DemoScene":
        """The scene a dict of :meth:`to_dict` holds.

        Parameters
        ----------
        data : dict of str to object
            The dict.
        source : str
            Named in a message (a file path).

        Returns
        -------
        DemoScene
            The scene.

        Raises
        ------
        VbguiError
            When data is not a scene of this version.
        """
        if data.get("scene_version") != SCENE_VERSION:
            raise VbguiError(f"{source}: not a vbgui demo scene (scene_version {data.get('scene_version')!r})")
        try:
            return cls(demo=str(data["demo"]), rho=float(data["rho"]), seed=int(data["seed"]),
                       families=tuple(str(f) for f in data["families"]), target=str(data.get("target", "")),
                       options=dict(data.get("options", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise VbguiError(f"{source}: not a vbgui demo scene ({exc.__class__.__name__}: {exc})") from None


def save_scene(scene: DemoScene, path: str | Path) -> None:
    """Write scene as JSON to path, replacing a file that is there.

    Parameters
    ----------
    scene : DemoScene
        The scene.
    path : str or Path
        The file.
    """
    write_json(scene.to_dict(), path, force=True)  # the save dialog asked before replacing


def load_scene(path: str | Path) -> DemoScene:
    """The scene in the JSON file at path.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    DemoScene
        The scene.

    Raises
    ------
    VbguiError
        When the file cannot be read or holds no scene.
    """
    return DemoScene.from_dict(read_json(path), source=str(path))


def mean_field_theory(rho: float) -> tuple[float, float]:
    """For a unit-variance Gaussian target with correlation rho: the optimal mean-field
    q's KL(q || p) = -1/2 log(1 - rho^2) and its variance ratio var_q / var_p = 1 - rho^2.

    Parameters
    ----------
    rho : float
        The correlation, in (-1, 1).

    Returns
    -------
    kl : float
        Nats.
    variance_ratio : float
        var_q / var_p.
    """
    return -0.5 * math.log(1.0 - rho ** 2), 1.0 - rho ** 2
