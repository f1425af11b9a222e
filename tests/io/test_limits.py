"""Values no recording can hold, and files that claim more memory than the budget: one error naming the file."""
from __future__ import annotations

import io
import tracemalloc
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vbgui.app.fit import FitSession
from vbgui.errors import RecordingError, VbguiError
from vbgui.io.limits import MemoryLimitError, memory_budget, parse_memory_size, set_memory_limit
from vbgui.io.loaders import LoadOptions, load_recording, read_recording_file
from vbgui.models.design import build_design
from vbgui.models.preset import DesignSettings, load_preset
from vbgui.models.synthetic import make_synthetic_recording

RNG = np.random.default_rng(1)


def npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def good(n=100, **changes):
    arrays = {"counts": RNG.poisson(1.0, n), "stimulus": RNG.standard_normal(n), "dt": np.array(0.01)}
    arrays.update(changes)
    return arrays


@pytest.mark.parametrize("changes,fragment", [
    ({"counts": np.array(5)}, "'counts' must be (T,) or (T, units), got shape ()"),
    ({"counts": np.zeros((100, 0))}, "'counts' has no units"),
    ({"counts": np.full(100, 2 ** 62, dtype=np.int64)}, "'counts' holds a value of magnitude 4.61e+18"),
    ({"counts": np.full(100, 1e300)}, "allowed are values within +-1e+06 (no spike train"),
    ({"stimulus": RNG.standard_normal(100) * 1e300}, "'stimulus' holds a value of magnitude"),
    ({"counts": None, "response": np.full(100, -1e7)}, "'response' holds a value of magnitude 1e+07"),
])
def test_values_no_recording_can_hold_are_refused(tmp_path, changes, fragment):
    arrays = {k: v for k, v in good(**changes).items() if v is not None}
    path = npz(tmp_path / "r.npz", **arrays)
    with pytest.raises(RecordingError) as error:
        load_recording(path)
    assert str(error.value).startswith(str(path)) and fragment in str(error.value)


def test_a_pickle_named_npz_is_refused_without_numpys_advice(tmp_path):
    import pickle

    path = tmp_path / "r.npz"
    path.write_bytes(pickle.dumps({"counts": [1, 2]}))
    with pytest.raises(RecordingError) as error:
        load_recording(path)
    message = str(error.value)
    assert "vbgui never unpickles" in message and "allow_pickle" not in message


def test_a_csv_with_a_byte_order_mark_reads_like_one_without(tmp_path):
    rows = "".join(f"{i * 0.01:.2f},{i % 3},{np.sin(i):.6f}\n" for i in range(50))
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    plain.write_text("time,counts,stim\n" + rows, encoding="utf-8")
    marked.write_text("time,counts,stim\n" + rows, encoding="utf-8-sig")
    assert marked.read_bytes().startswith(b"\xef\xbb\xbf")
    a, b = load_recording(plain), load_recording(marked)
    np.testing.assert_array_equal(a.response, b.response)
    np.testing.assert_array_equal(a.stimulus, b.stimulus)
    assert a.dt == b.dt


def test_a_pillow_folder_without_cells_is_named(tmp_path):
    scipy.io.savemat(tmp_path / "Stim.mat", {"Stim": RNG.standard_normal((30, 1))})
    scipy.io.savemat(tmp_path / "stimtimes.mat", {"stimtimes": (np.arange(30) * 0.01)[:, None]})
    scipy.io.savemat(tmp_path / "SpTimes.mat", {"SpTimes": np.empty((1, 0), dtype=object)})
    with pytest.raises(RecordingError, match="SpTimes.mat: 'SpTimes' holds no cells"):
        read_recording_file(tmp_path)


def test_an_nwb_stimulus_with_rate_zero_is_named(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    import h5py
    from datetime import datetime, timezone

    nwbfile = pynwb.NWBFile("test", "id", datetime(2026, 1, 1, tzinfo=timezone.utc))
    nwbfile.add_unit(spike_times=[0.01, 0.2])
    nwbfile.add_stimulus(pynwb.TimeSeries(name="sound", data=np.ones(100), unit="a.u.", rate=100.0))
    path = tmp_path / "r.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as nwb_io:
        nwb_io.write(nwbfile)
    with h5py.File(path, "r+") as handle:
        handle["stimulus/presentation/sound/starting_time"].attrs["rate"] = 0.0
    with pytest.raises(RecordingError, match="stimulus 'sound' has sampling rate 0.0"):
        read_recording_file(path, LoadOptions(dt=0.01))


@pytest.mark.parametrize("text,size", [("4G", 4 * 2 ** 30), ("512M", 512 * 2 ** 20), ("1.5T", int(1.5 * 2 ** 40)),
                                       ("2000000", 2_000_000), ("3GiB", 3 * 2 ** 30)])
def test_memory_sizes_parse(text, size):
    assert parse_memory_size(text, "--memory-limit") == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "4X", "10"])
def test_bad_memory_sizes_are_named(text):
    with pytest.raises(VbguiError, match="--memory-limit"):
        parse_memory_size(text, "--memory-limit")


def test_the_budget_follows_the_flag_then_the_environment(monkeypatch):
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "3G")
    assert memory_budget() == 3 * 2 ** 30
    set_memory_limit("5G")
    try:
        assert memory_budget() == 5 * 2 ** 30
    finally:
        set_memory_limit(None)
    monkeypatch.delenv("VBGUI_MEMORY_LIMIT")
    assert 0 < memory_budget()


def npz_claiming(path, shape):
    """A small .npz whose 'counts' header claims ``shape`` (float64) but holds 8 bytes of data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("counts.npy", header.getvalue() + b"\0" * 8)
        archive.writestr("dt.npy", _npy(np.array(0.01)))
    return path


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_an_npz_member_claiming_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = npz_claiming(tmp_path / "r.npz", (10 ** 9,))
    with pytest.raises(RecordingError, match=r"'counts' claims shape \(1000000000,\) \(8000000000 bytes\) but the "
                                             r"archive holds 8 bytes"):
        load_recording(path)


def test_an_npz_that_inflates_beyond_the_budget_is_refused(tmp_path, monkeypatch):
    path = npz(tmp_path / "r.npz", **good(100))
    big = tmp_path / "big.npz"
    np.savez_compressed(big, counts=np.zeros(3_000_000, dtype=np.int64), dt=np.array(0.01))
    assert big.stat().st_size < 100_000
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "16M")
    load_recording(path)  # small: fine
    with pytest.raises(MemoryLimitError, match=r"big.npz: reading its arrays would need 45.78 MiB, more than the "
                                               r"memory limit of 16.00 MiB \(raise it with --memory-limit"):
        load_recording(big)


def test_a_compressed_mat_bomb_is_refused_without_inflating_it(tmp_path, monkeypatch):
    path = tmp_path / "r.mat"
    scipy.io.savemat(path, {"counts": np.zeros((4_000_000, 1)), "dt": 0.01}, do_compression=True)
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "8M")
    with pytest.raises(MemoryLimitError, match="r.mat: its compressed variables inflate to more than 8.00 MiB"):
        load_recording(path)


def test_mat73_external_links_and_external_storage_are_refused(tmp_path):
    import h5py

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(100, dtype="<f8").tobytes())
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["counts"] = np.ones(100)
    linked, external = tmp_path / "linked.mat", tmp_path / "external.mat"
    with h5py.File(linked, "w") as handle:
        handle["counts"] = h5py.ExternalLink(str(other), "counts")
        handle["dt"] = 0.01
    with h5py.File(external, "w") as handle:
        handle.create_dataset("counts", shape=(100,), dtype="<f8", external=[(str(secret), 0, 800)])
        handle["dt"] = 0.01
    with pytest.raises(RecordingError, match=r"linked.mat: '/counts' is a link to another file"):
        load_recording(linked)
    with pytest.raises(RecordingError, match=r"external.mat: '/counts' keeps its data in an external file"):
        load_recording(external)


def test_mat73_datasets_declaring_more_than_the_budget_are_refused(tmp_path, monkeypatch):
    import h5py

    path = tmp_path / "r.mat"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("counts", shape=(10 ** 9, 1), dtype="<f8", chunks=(1000, 1), compression="gzip")
        handle["dt"] = 0.01
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "1G")
    with pytest.raises(MemoryLimitError, match=r"r.mat: reading its datasets would need 14.90 GiB"):
        load_recording(path)


def test_spike_times_with_a_huge_duration_are_refused_before_binning(tmp_path, monkeypatch):
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "1G")
    path = tmp_path / "r.mat"
    scipy.io.savemat(path, {"spike_times": np.array([0.1, 0.2]), "duration": 1e9, "dt": 0.001})
    with pytest.raises(MemoryLimitError, match=r"r.mat: binning 1 spike train\(s\) into 1000000000000 bins would "
                                               r"need 29.10 TiB"):
        load_recording(path)
    path_absurd = tmp_path / "absurd.mat"
    scipy.io.savemat(path_absurd, {"spike_times": np.array([0.1, 1e300]), "dt": 0.001})
    with pytest.raises(RecordingError, match="more than any recording can hold"):
        load_recording(path_absurd)


def test_a_fit_beyond_the_budget_is_refused_before_its_design_or_posterior_is_built(monkeypatch):
    recording = make_synthetic_recording("poisson", n_bins=60_000, stimulus_lags=3, spike_history_lags=0,
                                         dt=0.01, seed=0)
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "1G")
    preset = replace(load_preset("poisson-glm"), design=DesignSettings(stimulus_lags=10_000))
    preset = replace(preset, fit=replace(preset.fit, family="full-rank"))
    tracemalloc.start()
    with pytest.raises(MemoryLimitError, match=r"a full-rank fit of 50001 bins x 10001 parameters \(stimulus_lags=10000, "
                                               r"spike_history_lags=0; 24 matrices of 10001 x 10001\) would need 17.90 GiB"):
        FitSession(preset, recording)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 ** 20  # refused on the estimate: nothing of the 17.9 GiB was allocated
    assert FitSession(replace(preset, design=DesignSettings(stimulus_lags=20)), recording).design.dim == 21


def test_a_design_from_lags_is_streamed_not_materialised():
    """10,000 lags of 60,000 bins would be 3.73 GiB as a matrix; the streamed design holds the series only."""
    recording = make_synthetic_recording("poisson", n_bins=60_000, stimulus_lags=3, spike_history_lags=0,
                                         dt=0.01, seed=0)
    tracemalloc.start()
    design = build_design(recording, DesignSettings(stimulus_lags=10_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a few numbers per bin at most (the standardisation's temporaries), against 10,001 per bin as a matrix
    assert design.dim == 10_001 and design.n_rows == 50_001 and peak < 4 * 8 * recording.n_bins


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(0, 2 ** 40), min_size=0, max_size=3).map(tuple),
       descr=st.sampled_from(["<f8", "<i8", "|u1", "<c16", "|O", "<U4", "|V8", "|b1"]),
       payload=st.integers(0, 4096))
def test_any_npz_header_is_read_or_refused_without_allocating_what_it_claims(tmp_path, monkeypatch, shape, descr,
                                                                           payload):
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "64M")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    path = tmp_path / "fuzz.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("counts.npy", header.getvalue() + b"\1" * payload)
        archive.writestr("dt.npy", _npy(np.array(0.01)))
    try:
        recording = load_recording(path)
    except RecordingError as error:
        assert str(error).startswith(str(path)) and "allow_pickle" not in str(error)
    else:
        assert recording.n_bins >= 1 and np.all(np.isfinite(recording.response))
