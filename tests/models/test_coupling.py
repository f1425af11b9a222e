"""The coupled population GLM's design (every other unit's past counts), its preset value, its memory
estimate, its group for the structured family, the checksum of the data it fits, the per-unit ground truth
of a simulated population and the simulation itself."""
from __future__ import annotations

import numpy as np
import pytest

from vbgui.app.fit import FitSession, recording_checksum
from vbgui.errors import PresetError, RecordingError, VbguiError
from vbgui.io.limits import MemoryLimitError, set_memory_limit
from vbgui.io.npz import read_npz, save_units_npz
from vbgui.io.recording import Recording, RecordingFile
from vbgui.core.design_rows import DenseRows
from vbgui.models.design import build_design, coupling_partners, design_bytes, design_width, earliest_row
from vbgui.models.preset import DesignSettings, preset_from_dict, preset_from_toml
from vbgui.models.synthetic import coupling_filter, make_coupled_population


def three_units(n_bins: int = 40, seed: int = 0, bad_unit: int | None = None) -> RecordingFile:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(1.0, (n_bins, 3)).astype(float)
    if bad_unit is not None:
        counts[5, bad_unit] = np.nan
    return RecordingFile(counts, ("a", "b", "c"), 0.01, "pop.npz", stimulus=rng.standard_normal(n_bins))


def test_coupling_columns_are_the_other_units_past_counts_row_by_row():
    population = three_units()
    settings = DesignSettings(stimulus_lags=2, spike_history_lags=1, bias=True, coupling_lags=3)
    recording = population.unit("b")
    design = build_design(recording, settings)
    assert design.first_row == 3 == earliest_row(recording, settings)
    assert design.names[-6:] == ("couple[a][0]", "couple[a][1]", "couple[a][2]",
                                 "couple[c][0]", "couple[c][1]", "couple[c][2]")
    assert design.groups["couple"] == tuple(range(4, 10))
    assert design.dim == design_width(recording, settings) == 10
    counts = population.responses
    matrix = design.rows.materialise()
    uncoupled = build_design(recording, DesignSettings(stimulus_lags=2, spike_history_lags=1, bias=True), first_row=3)
    np.testing.assert_array_equal(matrix[:, :4], uncoupled.rows.materialise())  # the streamed rows, then couplings
    for row, t in enumerate(range(3, 40)):
        expected = [counts[t - 1 - j, 0] for j in range(3)] + [counts[t - 1 - j, 2] for j in range(3)]
        np.testing.assert_array_equal(matrix[row, 4:], expected)
        assert matrix[row, 3] == counts[t - 1, 1]  # hist[0]: the unit's own previous count


def test_without_coupling_lags_the_design_is_unchanged():
    recording = three_units().unit(0)
    design = build_design(recording, DesignSettings(stimulus_lags=2, spike_history_lags=1))
    assert not any(name.startswith("couple") for name in design.names) and "couple" not in design.groups


def test_an_unusable_unit_is_left_out_of_the_others_couplings():
    recording = three_units(bad_unit=2).unit("a")
    settings = DesignSettings(stimulus_lags=1, coupling_lags=2)
    assert coupling_partners(recording, settings) == (1,)
    assert build_design(recording, settings).names == ("bias", "stim[0]", "couple[b][0]", "couple[b][1]")


def test_coupling_on_a_recording_of_one_unit_is_one_clear_error():
    recording = Recording(np.ones(50), 0.01, "single.npz", stimulus=np.zeros(50))
    with pytest.raises(RecordingError, match=r"single.npz: coupling_lags = 2 couples a unit to the other units of a "
                                             r"multi-unit recording, and this recording holds one unit"):
        build_design(recording, DesignSettings(coupling_lags=2))


def test_huge_coupling_lags_are_refused_by_the_memory_estimate_before_allocating():
    recording = three_units(n_bins=20_000).unit(0)
    preset = preset_from_dict({"likelihood": "poisson", "design": {"coupling_lags": 10_000},
                               "fit": {"family": "mean-field"}})
    set_memory_limit("64M")
    try:
        with pytest.raises(MemoryLimitError, match=r"pop.npz: a mean-field fit of 10000 bins x 20011 parameters "
                                                   r"\(stimulus_lags=10, spike_history_lags=0, coupling_lags=10000; "
                                                   r"12 matrices of 20011 x 20011\) would need 37.3\d GiB"):
            FitSession(preset, recording)
    finally:
        set_memory_limit(None)


def test_a_coupled_design_is_held_as_a_matrix_and_its_memory_counted_so():
    recording = three_units(n_bins=1000).unit(0)
    coupled, uncoupled = DesignSettings(coupling_lags=2), DesignSettings()
    assert design_bytes(recording, coupled, 900) == 900 * design_width(recording, coupled) * 8
    assert design_bytes(recording, uncoupled, 900) < 900 * design_width(recording, uncoupled) * 8  # streamed
    assert isinstance(build_design(recording, coupled).rows, DenseRows)


@pytest.mark.parametrize("value,fragment", [
    ("-1", "got -1"), ("2.5", "got 2.5 (float)"), ('"3"', "got '3' (str)"), ("true", "got True (bool)"),
    ("10001", "got 10001"),
])
def test_the_preset_refuses_bad_coupling_lags(value, fragment):
    text = f'likelihood = "poisson"\n[design]\ncoupling_lags = {value}\n'
    with pytest.raises(PresetError, match=r"p.toml: 'design.coupling_lags' must be an integer from 0 to 10000, ") as info:
        preset_from_toml(text, "p.toml")
    assert fragment in str(info.value)


def test_the_preset_keeps_coupling_lags_through_toml():
    preset = preset_from_toml('likelihood = "poisson"\n[design]\ncoupling_lags = 4\n', "p.toml")
    assert preset.design.coupling_lags == 4
    assert preset_from_toml(preset.to_toml()) == preset
    assert preset_from_toml('likelihood = "poisson"\n').design.coupling_lags == 0


def test_the_structured_family_gives_the_couplings_their_own_block():
    preset = preset_from_dict({"likelihood": "poisson", "design": {"stimulus_lags": 2, "coupling_lags": 2},
                               "fit": {"family": "structured"}})
    session = FitSession(preset, three_units(n_bins=400).unit(1))
    couple = session.design.groups["couple"]
    assert [session.names[i] for i in couple] == ["couple[a][0]", "couple[a][1]", "couple[c][0]", "couple[c][1]"]
    assert couple in session.family.blocks
    assert len(session.family.blocks) == 3  # bias, stim, couple


def test_the_checksum_of_a_coupled_fit_covers_the_other_units_counts():
    population = three_units()
    changed = population.responses.copy()
    changed[7, 2] += 1
    other = RecordingFile(changed, population.unit_names, 0.01, "pop.npz", stimulus=population.stimulus)
    coupled, uncoupled = DesignSettings(coupling_lags=2), DesignSettings()
    assert recording_checksum(population.unit(0), uncoupled) == recording_checksum(other.unit(0), uncoupled)
    assert recording_checksum(population.unit(0), uncoupled) == recording_checksum(population.unit(0))
    assert recording_checksum(population.unit(0), coupled) != recording_checksum(other.unit(0), coupled)


def test_the_simulated_population_keeps_each_units_truth_through_an_npz_file(tmp_path):
    population = make_coupled_population(n_units=4, n_bins=3000, stimulus_lags=4, spike_history_lags=2,
                                         coupling_lags=2, coupling_fraction=0.5, seed=3)
    path = tmp_path / "pop.npz"
    save_units_npz(population, path)
    back = read_npz(path)
    np.testing.assert_array_equal(back.responses, population.responses)
    assert back.responses.dtype.kind == "i"
    for index, name in enumerate(population.unit_names):
        unit = back.unit(index)
        assert unit.truth == population.unit_truth[name]
        names = build_design(unit, DesignSettings(stimulus_lags=4, spike_history_lags=2, coupling_lags=2)).names
        assert set(unit.truth) == set(names)  # the truth names every weight of the matching design


def test_simulated_couplings_follow_the_stated_shape_and_fraction():
    population = make_coupled_population(n_units=12, n_bins=2000, coupling_lags=4, coupling_fraction=0.3, seed=5)
    peaks = np.array([[population.unit_truth[target].get(f"couple[{source}][0]", 0.0)
                       for source in population.unit_names] for target in population.unit_names])
    assert np.all(np.diag(peaks) == 0)
    coupled = peaks != 0
    assert 0.15 < coupled.sum() / (12 * 11) < 0.45
    assert np.all((np.abs(peaks[coupled]) >= 0.3) & (np.abs(peaks[coupled]) <= 0.6))
    assert np.any(peaks > 0) and np.any(peaks < 0)
    target, source = np.argwhere(coupled)[0]
    lags = [population.unit_truth[population.unit_names[target]][f"couple[{population.unit_names[source]}][{j}]"]
            for j in range(4)]
    np.testing.assert_allclose(lags, peaks[target, source] * coupling_filter(4), rtol=1e-12)


def test_an_excitatory_network_that_runs_away_is_refused():
    with pytest.raises(VbguiError, match=r"the simulated population runs away at bin \d+ \(a unit's rate passed "
                                         r"100 per bin\); use fewer or weaker couplings"):
        make_coupled_population(n_units=10, n_bins=5000, coupling_lags=5, coupling_fraction=1.0,
                                coupling_strength=5.0, seed=0)


def test_unit_truth_naming_a_unit_the_file_lacks_is_refused():
    with pytest.raises(RecordingError, match="pop.npz: ground truth for unit 'z', which the file does not hold"):
        RecordingFile(np.ones((10, 2)), ("a", "b"), 0.01, "pop.npz", unit_truth={"z": {"bias": 0.0}})


def test_check_coupling_lags_refuses_lags_too_large_for_the_recording_naming_the_key():
    from vbgui.models.fit_memory import check_coupling_lags

    unit = three_units(n_bins=40).unit(0)
    preset = preset_from_dict({"likelihood": "poisson", "design": {"stimulus_lags": 2, "coupling_lags": 39}})
    check_coupling_lags(unit, preset, "form")  # 39 lags leave one bin of 40: allowed
    too_many = preset_from_dict({"likelihood": "poisson", "design": {"stimulus_lags": 2, "coupling_lags": 40}})
    with pytest.raises(PresetError, match=r"^form: 'design.coupling_lags' must be an integer from 0 to 39 \(the "
                                          r"recording's 40 bins less one\), got 40$"):
        check_coupling_lags(unit, too_many, "form")
    single = RecordingFile(np.ones((40, 1)), ("a",), 0.01, "one.npz", stimulus=np.zeros(40)).unit(0)
    check_coupling_lags(single, too_many, "form")  # one unit: the fit says why, naming the file


def test_check_coupling_lags_refuses_a_coupled_design_beyond_the_memory_limit():
    from vbgui.models.fit_memory import check_coupling_lags

    big = make_coupled_population(n_units=3, n_bins=20_000, stimulus_lags=2, spike_history_lags=0,
                                  coupling_lags=1, seed=1).unit(0)
    preset = preset_from_dict({"likelihood": "poisson", "design": {"stimulus_lags": 2, "coupling_lags": 1000}})
    set_memory_limit("20M")
    try:
        with pytest.raises(PresetError) as raised:
            check_coupling_lags(big, preset, "form")
    finally:
        set_memory_limit(None)
    message = str(raised.value)
    assert message.startswith("form: 'design.coupling_lags' = 1000 is too large for this recording: ")
    assert "more than the memory limit" in message and "\n" not in message
