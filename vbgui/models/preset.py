"""Model presets: a TOML file -> a validated, frozen :class:`Preset`.

A preset names the likelihood, how the design matrix is built, the prior and
how to fit.  A latent-dynamics preset (a Poisson linear dynamical system of a
population, :mod:`vbgui.core.lds`) gives ``latent_dim`` instead of a design
and a prior, and a latent-path family (``structured-markov``, ``mean-field``,
``full-rank``); its ``[dynamics] stimulus_input = true`` drives the latents
with the recording's stimulus (x_{t+1} = A x_t + b + B u_t + noise), and its
``[loading_prior]`` (``loading_sd``, ``offset_sd``; each optional) puts a
zero-mean Gaussian prior on C and d (absent: none).  Every key is checked: unknown keys, wrong types and values out
of range raise :class:`PresetError` naming the key.  Shipped presets live in
``resources/presets/NAME.toml`` and are addressed by NAME.
"""
from __future__ import annotations

import difflib
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from vbgui.core.lds.names import LDS_LIKELIHOOD_NAMES, MAX_LATENT_DIM, PATH_FAMILY_NAMES
from vbgui.core.names import DISPERSION_RANGE, ESTIMATOR_NAMES, FAMILY_NAMES, LIKELIHOOD_NAMES
from vbgui.errors import PresetError

PRESET_DIR = Path(__file__).resolve().parent.parent / "resources" / "presets"
MAX_NAME_LENGTH = 200
MAX_PRESET_BYTES = 1_000_000  # a preset is a few hundred bytes; anything this large is not one


@dataclass(frozen=True)
class DesignSettings:
    """How the design matrix is built from a recording (see :mod:`vbgui.models.design`)."""

    stimulus_lags: int = 10
    spike_history_lags: int = 0
    bias: bool = True
    standardize: bool = False
    coupling_lags: int = 0  # taps of every other unit's past counts (a coupled population GLM)


@dataclass(frozen=True)
class PriorSettings:
    """Isotropic Gaussian prior N(0, scale^2 I) on all weights."""

    scale: float = 1.0


@dataclass(frozen=True)
class DynamicsSettings:
    """A latent-dynamics preset's dynamics: with ``stimulus_input`` the recording's stimulus u_t (T, M) drives
    the latents, x_{t+1} = A x_t + b + B u_t + noise, and B (K, M) is learned."""

    stimulus_input: bool = False


@dataclass(frozen=True)
class LoadingPriorSettings:
    """A latent-dynamics preset's prior on the loadings: c_nk ~ N(0, loading_sd^2), d_n ~ N(0, offset_sd^2);
    None (the key absent) leaves that parameter without a prior (its maximum-likelihood M-step)."""

    loading_sd: float | None = None
    offset_sd: float | None = None


@dataclass(frozen=True)
class FitSettings:
    """Variational family, ELBO estimator and optimiser settings."""

    family: str = "full-rank"
    estimator: str = "exact"
    max_iter: int = 5000
    seed: int = 0
    samples: int = 10
    learning_rate: float = 0.05
    tolerance: float = 1e-10
    rank: int = 5


@dataclass(frozen=True)
class Preset:
    """A validated model preset."""

    likelihood: str
    noise_sd: float = 1.0
    dispersion: float = 0.1
    design: DesignSettings = field(default_factory=DesignSettings)
    prior: PriorSettings = field(default_factory=PriorSettings)
    fit: FitSettings = field(default_factory=FitSettings)
    name: str = ""
    description: str = ""
    latent_dim: int | None = None
    dynamics: DynamicsSettings = field(default_factory=DynamicsSettings)
    loading_prior: LoadingPriorSettings = field(default_factory=LoadingPriorSettings)

    @property
    def is_latent_dynamics(self) -> bool:
        """True for a linear-dynamical-system preset (``latent_dim`` set), False for a GLM."""
        return self.latent_dim is not None

    def to_dict(self) -> dict[str, Any]:
        """The preset as a plain dict (``noise_sd`` only for gaussian, ``dispersion`` only for
        negative-binomial; ``latent_dim``, ``dynamics`` and ``loading_prior`` (without the keys left unset) and
        no design or prior for a latent-dynamics preset)."""
        data = asdict(self)
        for key, owner in _LIKELIHOOD_KEYS.items():
            if self.likelihood != owner:
                del data[key]
        for key in _GLM_SECTIONS if self.is_latent_dynamics else ("latent_dim",) + _LATENT_SECTIONS:
            del data[key]
        if self.is_latent_dynamics:
            data["loading_prior"] = {k: v for k, v in data["loading_prior"].items() if v is not None}
        return data

    def with_fit(self, source: str | None = None, **changes: Any) -> "Preset":
        """A copy with some ``[fit]`` values replaced, validated like a file's; ``source`` names the changes
        in error messages (default: the preset's name)."""
        data = self.to_dict()
        data["fit"].update({k: v for k, v in changes.items() if v is not None})
        return preset_from_dict(data, source=source or self.name or "preset")

    def to_toml(self) -> str:
        """TOML text that :func:`preset_from_toml` reads back to an equal preset."""
        lines = [f"name = {_toml_value(self.name)}", f"description = {_toml_value(self.description)}",
                 f"likelihood = {_toml_value(self.likelihood)}"]
        for key, owner in _LIKELIHOOD_KEYS.items():
            if self.likelihood == owner:
                lines.append(f"{key} = {_toml_value(getattr(self, key))}")
        if self.is_latent_dynamics:
            lines.append(f"latent_dim = {self.latent_dim}")
        for section in _LATENT_SECTIONS + ("fit",) if self.is_latent_dynamics else ("design", "prior", "fit"):
            lines.append(f"\n[{section}]")
            for key, value in asdict(getattr(self, section)).items():
                if value is not None:  # an unset optional key (no prior) is written as its absence
                    lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    return repr(value)


def _toml_string(text: str) -> str:
    """A TOML basic string: backslash and quote escaped, every control character as \\uXXXX."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in escaped) + '"'


def _printable_name(text: str) -> bool:
    return len(text) <= MAX_NAME_LENGTH and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


# key -> (type, check, description of the allowed range)
_RULES: dict[str, dict[str, tuple[type, Any, str]]] = {
    "": {
        "likelihood": (str, lambda v: v in LIKELIHOOD_NAMES, "one of " + ", ".join(LIKELIHOOD_NAMES)),
        "noise_sd": (float, lambda v: 1e-6 <= v <= 1e6, "a number from 1e-6 to 1e6"),
        "dispersion": (float, lambda v: DISPERSION_RANGE[0] <= v <= DISPERSION_RANGE[1],
                       f"a number from {DISPERSION_RANGE[0]:g} to {DISPERSION_RANGE[1]:g}"),
        "name": (str, _printable_name, f"one line of at most {MAX_NAME_LENGTH} characters (no line breaks "
                                       "or other control characters)"),
        "description": (str, lambda v: True, "a string"),
        "latent_dim": (int, lambda v: 1 <= v <= MAX_LATENT_DIM, f"an integer from 1 to {MAX_LATENT_DIM} (and at most "
                                                                "the recording's number of units)"),
    },
    "design": {
        "stimulus_lags": (int, lambda v: 0 <= v <= 10_000, "an integer from 0 to 10000"),
        "spike_history_lags": (int, lambda v: 0 <= v <= 10_000, "an integer from 0 to 10000"),
        "bias": (bool, lambda v: True, "true or false"),
        "standardize": (bool, lambda v: True, "true or false"),
        "coupling_lags": (int, lambda v: 0 <= v <= 10_000, "an integer from 0 to 10000"),
    },
    "prior": {
        "scale": (float, lambda v: 1e-6 <= v <= 1e6, "a number from 1e-6 to 1e6"),
    },
    "dynamics": {
        "stimulus_input": (bool, lambda v: True, "true or false"),
    },
    "loading_prior": {
        "loading_sd": (float, lambda v: 1e-6 <= v <= 1e6, "a number from 1e-6 to 1e6 (leave it out for no prior)"),
        "offset_sd": (float, lambda v: 1e-6 <= v <= 1e6, "a number from 1e-6 to 1e6 (leave it out for no prior)"),
    },
    "fit": {
        "family": (str, lambda v: v in FAMILY_NAMES + PATH_FAMILY_NAMES,
                   "one of " + ", ".join(dict.fromkeys(FAMILY_NAMES + PATH_FAMILY_NAMES))),
        "estimator": (str, lambda v: v in ESTIMATOR_NAMES, "one of " + ", ".join(ESTIMATOR_NAMES)),
        "max_iter": (int, lambda v: 1 <= v <= 10_000_000, "an integer from 1 to 10000000"),
        "seed": (int, lambda v: 0 <= v < 2 ** 63, "a non-negative integer"),
        "samples": (int, lambda v: 1 <= v <= 100_000, "an integer from 1 to 100000"),
        "learning_rate": (float, lambda v: 0 < v <= 10, "a number in (0, 10]"),
        "tolerance": (float, lambda v: 0 < v < 1, "a number in (0, 1)"),
        "rank": (int, lambda v: 1 <= v <= 10_000, "an integer from 1 to 10000"),
    },
}
# Top-level keys that belong to one likelihood: key -> that likelihood.
_LIKELIHOOD_KEYS = {"noise_sd": "gaussian", "dispersion": "negative-binomial"}
_SECTIONS = {"design": DesignSettings, "prior": PriorSettings, "fit": FitSettings, "dynamics": DynamicsSettings,
             "loading_prior": LoadingPriorSettings}
_GLM_SECTIONS = ("design", "prior")
_LATENT_SECTIONS = ("dynamics", "loading_prior")
# A latent-dynamics preset's defaults where the GLM's differ.
LATENT_FIT_DEFAULTS = {"family": "structured-markov", "max_iter": 500, "tolerance": 1e-8}


def _checked(source: str, section: str, key: str, value: Any) -> Any:
    where = f"{section}.{key}" if section else key
    expected, check, allowed = _RULES[section][key]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise PresetError(f"{source}: '{where}' must be {allowed}, got an integer beyond float range") from None
    if expected is not bool and isinstance(value, bool) or not isinstance(value, expected):
        raise PresetError(f"{source}: '{where}' must be {allowed}, got {value!r} ({type(value).__name__})")
    if expected is float and value != value:
        raise PresetError(f"{source}: '{where}' must be {allowed}, got nan")
    if not check(value):
        raise PresetError(f"{source}: '{where}' must be {allowed}, got {value!r}")
    return value


def _unknown(source: str, section: str, key: str) -> PresetError:
    where = f"[{section}] " if section else ""
    known = list(_RULES[section]) + ([] if section else list(_SECTIONS))
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
    return PresetError(f"{source}: unknown key {where}'{key}'{hint}")


def preset_from_dict(data: dict[str, Any], source: str = "preset") -> Preset:
    """Validate a parsed preset; ``source`` names it in error messages."""
    top: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise PresetError(f"{source}: '{key}' must be a table ([{key}])")
            sections[key] = _SECTIONS[key](**{
                k: _checked(source, key, k, v) if k in _RULES[key] else _raise(_unknown(source, key, k))
                for k, v in value.items()})
        elif key in _RULES[""]:
            top[key] = _checked(source, "", key, value)
        else:
            raise _unknown(source, "", key)
    if "likelihood" not in top:
        raise PresetError(f"{source}: missing key 'likelihood' (one of {', '.join(LIKELIHOOD_NAMES)})")
    for key, owner in _LIKELIHOOD_KEYS.items():
        if key in top and top["likelihood"] != owner:
            raise PresetError(f"{source}: '{key}' applies only to likelihood = \"{owner}\"")
    if "latent_dim" in top:
        sections["fit"] = _latent_fit(source, top["likelihood"], data, sections)
    elif any(section in sections for section in _LATENT_SECTIONS):
        section = next(section for section in _LATENT_SECTIONS if section in sections)
        raise PresetError(f"{source}: [{section}] applies only to latent-dynamics presets (with 'latent_dim')")
    elif "fit" in sections and sections["fit"].family in PATH_FAMILY_NAMES and \
            sections["fit"].family not in FAMILY_NAMES:
        raise PresetError(f"{source}: 'fit.family' = \"{sections['fit'].family}\" is a latent-path family; "
                          "it needs 'latent_dim' (a latent-dynamics preset)")
    return Preset(**top, **sections)


def _latent_fit(source: str, likelihood: str, data: dict[str, Any], sections: dict[str, Any]) -> FitSettings:
    """Check what a latent-dynamics preset may hold; its [fit] with the LDS defaults for keys not given."""
    if likelihood not in LDS_LIKELIHOOD_NAMES:
        raise PresetError(f"{source}: 'likelihood' must be one of {', '.join(LDS_LIKELIHOOD_NAMES)} with "
                          f"'latent_dim', got {likelihood!r}")
    for section in _GLM_SECTIONS:
        if section in sections:
            raise PresetError(f"{source}: [{section}] applies only to GLM presets, not with 'latent_dim'")
    given = data.get("fit", {})
    fit = replace(sections.get("fit", FitSettings()),
                  **{k: v for k, v in LATENT_FIT_DEFAULTS.items() if k not in given})
    if fit.family not in PATH_FAMILY_NAMES:
        raise PresetError(f"{source}: 'fit.family' must be one of {', '.join(PATH_FAMILY_NAMES)} with "
                          f"'latent_dim', got {fit.family!r}")
    if fit.estimator != "exact":
        raise PresetError(f"{source}: 'fit.estimator' must be \"exact\" with 'latent_dim' (the LDS ELBO is "
                          f"exact), got {fit.estimator!r}")
    return fit


def _raise(error: Exception) -> Any:
    raise error


def preset_from_toml(text: str, source: str = "preset") -> Preset:
    if len(text) > MAX_PRESET_BYTES:
        raise PresetError(f"{source}: {len(text)} characters; a preset is at most {MAX_PRESET_BYTES}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise PresetError(f"{source}: not a preset (arrays or tables nested too deeply to read)") from None
    return preset_from_dict(data, source)


def shipped_preset_names(include_latent: bool = False) -> list[str]:
    """The shipped presets' names: the GLMs, and with ``include_latent`` the latent-dynamics ones too
    (the window lists both; a GLM-only caller leaves the latter out)."""
    names = sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
    return names if include_latent else [n for n in names if not load_preset(n).is_latent_dynamics]


def preset_path(name_or_path: str | Path) -> Path:
    """The file a preset name (a shipped preset) or path refers to; it may not exist."""
    text_name = str(name_or_path)
    if not text_name.endswith(".toml") and (PRESET_DIR / f"{text_name}.toml").is_file():
        return PRESET_DIR / f"{text_name}.toml"
    return Path(name_or_path)


def load_preset(name_or_path: str | Path) -> Preset:
    """Load a shipped preset by name, or a preset file by path."""
    text_name = str(name_or_path)
    path = preset_path(name_or_path)
    if not path.exists():
        raise PresetError(f"{text_name}: no such preset file, and not a shipped preset "
                          f"(shipped: {', '.join(shipped_preset_names())})")
    try:
        if path.is_file() and path.stat().st_size > MAX_PRESET_BYTES:
            raise PresetError(f"{path}: {path.stat().st_size} bytes; a preset is at most {MAX_PRESET_BYTES}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read the preset ({exc.__class__.__name__}: {exc})") from None
    preset = preset_from_toml(text, source=str(path))
    return preset if preset.name else replace(preset, name=path.stem)
