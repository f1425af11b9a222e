"""Recordings in .npz: round trip, every bad file named, and random bytes never crash the loader."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vbgui.errors import RecordingError
from vbgui.io.npz import read_npz, save_npz


def load_npz(path):
    return read_npz(path).unit()
from vbgui.models.synthetic import make_synthetic_recording


def write(path, **arrays):
    np.savez(path, **arrays)
    return path


def good_arrays(n=50):
    rng = np.random.default_rng(0)
    return {"counts": rng.poisson(1.0, n), "stimulus": rng.standard_normal(n), "dt": np.array(0.01)}


def test_round_trip_keeps_everything(tmp_path):
    rec = make_synthetic_recording("poisson", n_bins=500, stimulus_lags=4, spike_history_lags=2, seed=1)
    save_npz(rec, tmp_path / "r.npz")
    back = load_npz(tmp_path / "r.npz")
    np.testing.assert_array_equal(back.response, rec.response)
    np.testing.assert_array_equal(back.stimulus, rec.stimulus)
    assert back.dt == rec.dt and back.truth == rec.truth and back.response_name == "counts"


def test_column_and_row_vectors_alike(tmp_path):
    arrays = good_arrays()
    arrays["counts"] = arrays["counts"][None, :]
    rec = load_npz(write(tmp_path / "r.npz", **arrays))
    assert rec.response.shape == (50,) and rec.stimulus.shape == (50, 1)


@pytest.mark.parametrize("change,fragment", [
    (lambda a: a.pop("counts"), "missing array 'counts'"),
    (lambda a: a.pop("dt"), "missing array 'dt'"),
    (lambda a: a.update(dt=np.array(0.0)), "'dt' must be a positive number"),
    (lambda a: a.update(dt=np.array(-1.0)), "'dt' must be a positive number"),
    (lambda a: a.update(dt=np.array([0.1, 0.2])), "'dt' must be a single number"),
    (lambda a: a.update(stimulus=np.ones(49)), "'stimulus' has 49 bins but 'counts' has 50"),
    (lambda a: a.update(stimulus=np.r_[np.ones(49), np.nan]), "'stimulus' contains NaN or Inf (first at bin 49)"),
    (lambda a: a.update(counts=np.r_[np.ones(49), np.inf]), "'counts' contains NaN or Inf"),
    (lambda a: a.update(counts=np.array(["a"] * 50)), "'counts' must be numeric"),
    (lambda a: a.update(counts=np.zeros((50, 2, 2))), "'counts' must be (T,) or (T, units)"),
    (lambda a: a.update(counts=np.zeros((50, 2)), unit_names=np.array(["a"])), "'unit_names' must be 2 strings"),
    (lambda a: a.update(counts=-np.ones(50)), "'counts' contains negative counts"),
    (lambda a: a.update(counts=np.zeros(0), stimulus=np.zeros(0)), "'counts' is empty"),
    (lambda a: a.update(stimulus=np.zeros((50, 2, 2))), "'stimulus' must be (T,) or (T, K)"),
    (lambda a: a.update(extra=np.ones(3)), "unknown array(s) extra"),
    (lambda a: a.update(response=np.ones(50)), "holds both 'counts' and 'response'"),
])
def test_bad_arrays_are_named(tmp_path, change, fragment):
    arrays = good_arrays()
    change(arrays)
    path = write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(RecordingError) as info:
        load_npz(path)
    assert str(info.value).startswith(str(path) + ": ")
    assert fragment in str(info.value)


def test_object_arrays_are_refused_never_unpickled(tmp_path):
    arrays = good_arrays()
    arrays["stimulus"] = np.array([object()] * 50, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(RecordingError, match="object array; object arrays are refused because vbgui never unpickles"):
        load_npz(path)


@pytest.mark.parametrize("content,fragment", [
    (b"", "not a readable .npz"), (b"hello", "not a readable .npz"), (None, "no such file")])
def test_unreadable_files(tmp_path, content, fragment):
    path = tmp_path / "r.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RecordingError, match=fragment):
        load_npz(path)


def test_truncated_archive(tmp_path):
    path = write(tmp_path / "r.npz", **good_arrays(5000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError, match="not a readable .npz"):
        load_npz(path)


def _valid_npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **good_arrays(20))
    return buffer.getvalue()


VALID = _valid_npz_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(st.one_of(
    st.binary(max_size=2000),
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=20).map(
        lambda edits: bytes(_mutate(VALID, edits))),
    st.integers(0, len(VALID)).map(lambda n: VALID[:n]),
))
def test_random_and_mutated_bytes_only_raise_the_loaders_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.npz"
    path.write_bytes(data)
    try:
        load_npz(path)
    except RecordingError:
        pass


def _mutate(data: bytes, edits) -> bytearray:
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position] = value
    return mutated


def test_a_zip_of_a_non_npy_member_is_refused(tmp_path):
    path = tmp_path / "r.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("counts.npy", b"not an array")
    with pytest.raises(RecordingError):
        load_npz(path)
