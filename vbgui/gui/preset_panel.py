"""The preset panel: a list of presets and a form of their settings, validated as typed.

A GLM preset shows its design, prior, family and estimator; a latent-dynamics
preset (``latent_dim`` set, :attr:`Preset.is_latent_dynamics`) shows instead its
number of latents and its latent-path family (LATENT_DYNAMICS_KEYS), the
form's rows following the preset selected in the list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QVBoxLayout, QWidget)

from vbgui.core.lds.names import LDS_LIKELIHOOD_NAMES, PATH_FAMILY_NAMES
from vbgui.core.names import ESTIMATOR_NAMES, FAMILY_NAMES, LIKELIHOOD_NAMES
from vbgui.errors import PresetError
from vbgui.gui.style import TEXT_COLOURS
from vbgui.gui.tooltips import TOOLTIPS
from vbgui.io.recording import Recording
from vbgui.models.fit_memory import check_coupling_lags
from vbgui.models.preset import Preset, preset_from_dict

FORM_SOURCE = "preset form"
INVALID_STYLE = "border: 2px solid #D55E00;"


@dataclass(frozen=True)
class NumberField:
    """A typed number in the form: its preset key (section.key), label and parser."""

    key: str
    label: str
    parse: Callable[[str], int | float]
    kind: str  # 'an integer' or 'a number', for messages


NUMBER_FIELDS = (
    NumberField("latent_dim", "Latent dim", int, "an integer"),
    NumberField("design.stimulus_lags", "Stimulus lags", int, "an integer"),
    NumberField("design.spike_history_lags", "History lags", int, "an integer"),
    NumberField("design.coupling_lags", "Coupling lags", int, "an integer"),
    NumberField("prior.scale", "Prior scale", float, "a number"),
    NumberField("noise_sd", "Noise sd", float, "a number"),
    NumberField("dispersion", "Dispersion", float, "a number"),
    NumberField("fit.max_iter", "Max iterations", int, "an integer"),
    NumberField("fit.seed", "Seed", int, "an integer"),
    NumberField("fit.samples", "MC samples", int, "an integer"),
    NumberField("fit.learning_rate", "Learning rate", float, "a number"),
    NumberField("fit.rank", "Rank", int, "an integer"),
)
TOOLTIP_OF_KEY = {
    "latent_dim": "latent_dim",
    "design.stimulus_lags": "stimulus_lags", "design.spike_history_lags": "spike_history_lags",
    "design.coupling_lags": "coupling_lags",
    "prior.scale": "prior_scale", "noise_sd": "noise_sd", "dispersion": "dispersion", "fit.max_iter": "max_iter", "fit.seed": "seed",
    "fit.samples": "samples", "fit.learning_rate": "learning_rate", "fit.rank": "rank",
}
MONTE_CARLO_ONLY = ("fit.samples", "fit.learning_rate")
# Form fields that belong to one likelihood: field -> that likelihood.
LIKELIHOOD_ONLY = {"noise_sd": "gaussian", "dispersion": "negative-binomial"}
COUPLING_KEY = "design.coupling_lags"
ONE_UNIT_NOTE = ("Disabled: the recording holds one unit, so there is no other unit to couple to (a value other "
                 "than 0 stays editable, to set it back to 0).")
# The number fields of a latent-dynamics preset; a GLM's are every other one.
LATENT_DYNAMICS_KEYS = ("latent_dim", "noise_sd", "fit.max_iter")


class PresetPanel(QWidget):
    """Lists presets, shows the selected one in a form and emits the validated edit.

    ``preset_changed`` carries the valid :class:`Preset` of the form, or None
    while a value is invalid (the message is shown under the form).
    """

    preset_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base: Preset | None = None
        self._current: Preset | None = None
        self._loading = False
        self.recording: Recording | None = None  # what the form is checked against (set_recording)
        self.preset_list = QListWidget()
        self.preset_list.setToolTip(TOOLTIPS["preset_list"])
        self.preset_list.setMaximumHeight(110)
        self.preset_list.currentItemChanged.connect(self._on_selected)

        self.likelihood = self._combo(LIKELIHOOD_NAMES, "likelihood")
        self.family = self._combo(FAMILY_NAMES, "family")
        self.path_family = self._combo(PATH_FAMILY_NAMES, "path_family")
        self.estimator = self._combo(ESTIMATOR_NAMES, "estimator")
        self.bias = QCheckBox("constant bias regressor")
        self.bias.setToolTip(TOOLTIPS["bias"])
        self.standardize = QCheckBox("z-score the stimulus")
        self.standardize.setToolTip(TOOLTIPS["standardize"])
        for box in (self.bias, self.standardize):
            box.toggled.connect(self._validate)
        self.numbers: dict[str, QLineEdit] = {}
        for field in NUMBER_FIELDS:
            edit = QLineEdit()
            edit.setToolTip(TOOLTIPS[TOOLTIP_OF_KEY[field.key]])
            edit.textEdited.connect(self._validate)
            self.numbers[field.key] = edit

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Likelihood", self.likelihood)
        form.addRow("Latent dim", self.numbers["latent_dim"])
        form.addRow("Latent path", self.path_family)
        form.addRow("Stimulus lags", self.numbers["design.stimulus_lags"])
        form.addRow("History lags", self.numbers["design.spike_history_lags"])
        form.addRow("Coupling lags", self.numbers[COUPLING_KEY])
        self.coupling_label = form.labelForField(self.numbers[COUPLING_KEY])
        form.addRow("Bias", self.bias)
        form.addRow("Standardise", self.standardize)
        form.addRow("Prior scale", self.numbers["prior.scale"])
        form.addRow("Noise sd", self.numbers["noise_sd"])
        form.addRow("Dispersion", self.numbers["dispersion"])
        form.addRow("Family", self.family)
        form.addRow("Rank", self.numbers["fit.rank"])
        form.addRow("Estimator", self.estimator)
        for key in ("fit.max_iter", "fit.seed", "fit.samples", "fit.learning_rate"):
            form.addRow(next(f.label for f in NUMBER_FIELDS if f.key == key), self.numbers[key])
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
            label.setToolTip(field.toolTip())
        self.form = form
        self.latent_rows: tuple[QWidget, ...] = (self.numbers["latent_dim"], self.path_family)
        self.glm_rows: tuple[QWidget, ...] = (
            self.bias, self.standardize, self.family, self.estimator,
            *(edit for key, edit in self.numbers.items() if key not in LATENT_DYNAMICS_KEYS))

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {TEXT_COLOURS['poor']};")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preset_list)
        layout.addLayout(form)
        layout.addWidget(self.message)

    def _combo(self, names: tuple[str, ...], tooltip: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(names))
        combo.setToolTip(TOOLTIPS[tooltip])
        combo.currentTextChanged.connect(self._validate)
        return combo

    # -- the list -------------------------------------------------------------------------------
    def add_preset(self, preset: Preset, label: str, source: str, select: bool = True) -> None:
        """Add ``preset`` to the list (replacing an entry with the same label) and optionally select it."""
        for row in range(self.preset_list.count()):
            if self.preset_list.item(row).text() == label:
                self.preset_list.takeItem(row)
                break
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, preset)
        item.setToolTip(f"{preset.description}\n{source}".strip())
        self.preset_list.addItem(item)
        if select:
            self.preset_list.setCurrentItem(item)

    def select(self, label: str) -> None:
        matches = self.preset_list.findItems(label, Qt.MatchFlag.MatchExactly)
        if matches:
            self.preset_list.setCurrentItem(matches[0])

    def _on_selected(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.load(item.data(Qt.ItemDataRole.UserRole))

    # -- the form -------------------------------------------------------------------------------
    def is_latent_dynamics(self) -> bool:
        """Whether the form shows a latent-dynamics preset (latent_dim and a latent-path family)."""
        return self._base is not None and self._base.is_latent_dynamics

    def family_name(self) -> str:
        """The family the form's fit would use: the latent-path family or the GLM's."""
        return (self.path_family if self.is_latent_dynamics() else self.family).currentText()

    def _show_rows_of(self, latent: bool) -> None:
        """Show the rows a latent-dynamics (``latent``) or a GLM preset uses; offer the likelihoods it allows."""
        for widget in self.latent_rows:
            self.form.setRowVisible(widget, latent)
        for widget in self.glm_rows:
            self.form.setRowVisible(widget, not latent)
        model = self.likelihood.model()
        for row, name in enumerate(LIKELIHOOD_NAMES):
            model.item(row).setEnabled(not latent or name in LDS_LIKELIHOOD_NAMES)

    def load(self, preset: Preset) -> None:
        """Fill the form from ``preset``."""
        self._base = preset
        self._loading = True
        self._show_rows_of(preset.is_latent_dynamics)
        self.likelihood.setCurrentText(preset.likelihood)
        if preset.is_latent_dynamics:
            self.path_family.setCurrentText(preset.fit.family)
        else:
            self.family.setCurrentText(preset.fit.family)
        self.estimator.setCurrentText(preset.fit.estimator)
        self.bias.setChecked(preset.design.bias)
        self.standardize.setChecked(preset.design.standardize)
        values = {"latent_dim": preset.latent_dim if preset.is_latent_dynamics else "",
                  "design.stimulus_lags": preset.design.stimulus_lags,
                  "design.spike_history_lags": preset.design.spike_history_lags,
                  COUPLING_KEY: preset.design.coupling_lags,
                  "prior.scale": preset.prior.scale, "noise_sd": preset.noise_sd,
                  "dispersion": preset.dispersion,
                  "fit.max_iter": preset.fit.max_iter, "fit.seed": preset.fit.seed,
                  "fit.samples": preset.fit.samples, "fit.learning_rate": preset.fit.learning_rate,
                  "fit.rank": preset.fit.rank}
        for key, value in values.items():
            self.numbers[key].setText(f"{value:g}" if isinstance(value, float) else str(value))
        self._loading = False
        self._validate()

    def current_preset(self) -> Preset | None:
        """The form's preset, or None while a value is invalid."""
        return self._current

    def set_recording(self, recording: Recording | None) -> None:
        """Check the form against ``recording`` (the unit about to be fitted; None: no recording): the coupling
        lags apply to a recording of several units only, and must leave it bins and memory to fit."""
        self.recording = recording
        self._validate()

    def set_family(self, family: str) -> None:
        self.family.setCurrentText(family)

    def _form_dict(self) -> dict:
        """The form as a preset dict; raises PresetError for text that is not a number."""
        base = self._base
        if self.is_latent_dynamics():
            return self._latent_form_dict(base)
        data: dict = {"name": base.name if base else "", "description": base.description if base else "",
                      "likelihood": self.likelihood.currentText(),
                      "design": {"bias": self.bias.isChecked(), "standardize": self.standardize.isChecked()},
                      "prior": {}, "fit": {"family": self.family.currentText(),
                                           "estimator": self.estimator.currentText(),
                                           "tolerance": base.fit.tolerance if base else 1e-10}}
        for field in NUMBER_FIELDS:
            if field.key in LIKELIHOOD_ONLY and data["likelihood"] != LIKELIHOOD_ONLY[field.key]:
                continue
            if field.key != "latent_dim":
                self._put(data, field)
        return data

    def _enable_coupling(self) -> None:
        """Coupling lags: editable for a recording of several units (or none yet), and for a value other than 0
        (so it can be set back to 0); otherwise disabled, its tooltip saying why."""
        edit = self.numbers[COUPLING_KEY]
        one_unit = self.recording is not None and self.recording.population is None
        enabled = not one_unit or edit.text().strip() != "0"  # not while typing: "" is a value being changed
        edit.setEnabled(enabled)
        tooltip = TOOLTIPS["coupling_lags"] + ("" if enabled else "\n" + ONE_UNIT_NOTE)
        edit.setToolTip(tooltip)
        if self.coupling_label is not None:
            self.coupling_label.setEnabled(enabled)
            self.coupling_label.setToolTip(tooltip)

    def _latent_form_dict(self, base: Preset) -> dict:
        """The form of a latent-dynamics preset as a preset dict; what the form does not show ([dynamics],
        [loading_prior], the other [fit] keys) is kept from ``base``."""
        data = base.to_dict()
        data.pop("noise_sd", None)  # the form's, below, when the likelihood is gaussian
        data["likelihood"] = self.likelihood.currentText()
        data["fit"].update(family=self.path_family.currentText(), estimator="exact")
        for field in NUMBER_FIELDS:
            if field.key not in LATENT_DYNAMICS_KEYS or (field.key in LIKELIHOOD_ONLY and
                                                         data["likelihood"] != LIKELIHOOD_ONLY[field.key]):
                continue
            self._put(data, field)
        return data

    def _put(self, data: dict, field: NumberField) -> None:
        """Parse ``field``'s text into ``data`` (a preset dict); raises PresetError for text that is not a number."""
        text = self.numbers[field.key].text().strip()
        try:
            value = field.parse(text)
        except ValueError:
            raise PresetError(f"{FORM_SOURCE}: '{field.key}' must be {field.kind}, got {text!r}") from None
        if "." in field.key:
            section, key = field.key.split(".")
            data[section][key] = value
        else:
            data[field.key] = value

    def _validate(self, *_args) -> None:
        if self._loading:
            return
        monte_carlo = self.estimator.currentText() != "exact"
        for key, owner in LIKELIHOOD_ONLY.items():
            self.numbers[key].setEnabled(self.likelihood.currentText() == owner)
        for key in MONTE_CARLO_ONLY:
            self.numbers[key].setEnabled(monte_carlo)
        self.numbers["fit.rank"].setEnabled(self.family.currentText() == "low-rank")
        self._enable_coupling()
        for edit in self.numbers.values():
            edit.setStyleSheet("")
        try:
            preset = preset_from_dict(self._form_dict(), source=FORM_SOURCE)
            if self.recording is not None:
                check_coupling_lags(self.recording, preset, FORM_SOURCE)
        except PresetError as exc:
            self._current = None
            message = str(exc)
            self.message.setText(message)
            for key, edit in self.numbers.items():
                if f"'{key}'" in message:
                    edit.setStyleSheet(INVALID_STYLE)
        else:
            self._current = preset
            self.message.setText("")
        self.preset_changed.emit(self._current)
