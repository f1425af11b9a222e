"""Every recording format: what it reads, every bad file named, and fuzzed bytes never crash a loader."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vbgui.errors import RecordingError
from vbgui.io.loaders import LoadOptions, load_recording, read_recording_file
from vbgui.io.spike_times import bin_edges, bin_spike_times

RNG = np.random.default_rng(0)
COUNTS = RNG.poisson(1.0, (200, 3)).astype(float)
STIMULUS = RNG.standard_normal((200, 2))


def write_mat73(path, variables: dict, cells: dict | None = None) -> None:
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 with a MAT header, arrays transposed, cells as references."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as handle:
        refs = handle.create_group("#refs#")
        for name, value in variables.items():
            dataset = handle.create_dataset(name, data=np.asarray(value, dtype=float).T)
            dataset.attrs["MATLAB_class"] = np.bytes_("double")
        for name, items in (cells or {}).items():
            references = []
            for i, item in enumerate(items):
                member = refs.create_dataset(f"{name}{i}", data=np.asarray(item, dtype=float).reshape(1, -1))
                member.attrs["MATLAB_class"] = np.bytes_("double")
                references.append(member.ref)
            dataset = handle.create_dataset(name, data=np.array(references, dtype=h5py.ref_dtype).reshape(-1, 1))
            dataset.attrs["MATLAB_class"] = np.bytes_("cell")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Wed Nov 25 12:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as handle:
        handle.write(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM")


def cell_array(items):
    cells = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        cells[0, i] = np.asarray(item, dtype=float).reshape(-1, 1)
    return cells


def test_mat_v5_multi_unit_with_row_vectors_and_names(tmp_path):
    path = tmp_path / "r.mat"
    names = np.empty((1, 3), dtype=object)
    names[0, :] = ["a", "b", "c"]
    scipy.io.savemat(path, {"counts": COUNTS, "stimulus": STIMULUS[:, 0][None, :], "dt": 0.01, "unit_names": names})
    recording_file = read_recording_file(path)
    assert recording_file.unit_names == ("a", "b", "c") and recording_file.dt == 0.01
    recording = load_recording(path, unit="b")
    np.testing.assert_array_equal(recording.response, COUNTS[:, 1])
    np.testing.assert_array_equal(recording.stimulus[:, 0], STIMULUS[:, 0])
    np.testing.assert_array_equal(load_recording(path, unit="2").response, COUNTS[:, 2])
    with pytest.raises(RecordingError, match="no unit 'z'; units are 0: a, 1: b, 2: c"):
        load_recording(path, unit="z")


def test_mat_v73_reads_the_same_arrays_as_v5(tmp_path):
    v5, v73 = tmp_path / "v5.mat", tmp_path / "v73.mat"
    scipy.io.savemat(v5, {"counts": COUNTS, "stimulus": STIMULUS, "dt": 0.01})
    write_mat73(v73, {"counts": COUNTS, "stimulus": STIMULUS, "dt": [[0.01]]})
    a, b = read_recording_file(v5), read_recording_file(v73)
    np.testing.assert_array_equal(a.responses, b.responses)
    np.testing.assert_array_equal(a.stimulus, b.stimulus)
    assert a.dt == b.dt


@pytest.mark.parametrize("version", ["v5", "v73"])
def test_spike_time_cells_are_binned_with_duration(tmp_path, version):
    trains = [[0.005, 0.0101, 0.5], [0.0, 0.999, 1.0]]
    path = tmp_path / "s.mat"
    if version == "v5":
        scipy.io.savemat(path, {"spike_times": cell_array(trains), "duration": 1.0, "dt": 0.01})
    else:
        write_mat73(path, {"duration": [[1.0]], "dt": [[0.01]]}, cells={"spike_times": trains})
    recording_file = read_recording_file(path)
    assert recording_file.responses.shape == (100, 2)
    assert recording_file.responses[:, 0].sum() == 3 and recording_file.responses[[0, 1, 50], 0].tolist() == [1, 1, 1]
    assert recording_file.responses[[0, 99], 1].tolist() == [1, 2]


def test_renamed_variables_are_picked_by_role(tmp_path):
    path = tmp_path / "r.mat"
    scipy.io.savemat(path, {"spk": COUNTS[:, 0], "light": STIMULUS[:, 0], "binwidth": 0.002})
    with pytest.raises(RecordingError, match="no variable 'counts', 'response' or 'spike_times'; the file holds "
                                             "binwidth, light, spk"):
        read_recording_file(path)
    options = LoadOptions({"counts": "spk", "stimulus": "light", "dt": "binwidth"})
    recording = load_recording(path, options=options)
    assert recording.dt == 0.002 and recording.response.sum() == COUNTS[:, 0].sum()
    with pytest.raises(RecordingError, match="no variable 'nope' \\(for stimulus\\)"):
        read_recording_file(path, LoadOptions({"counts": "spk", "stimulus": "nope", "dt": "binwidth"}))


def test_spike_on_a_bin_edge_lands_in_exactly_one_bin():
    dt, n_bins = 0.001, 1000
    edges = bin_edges(dt, n_bins)
    times = edges[[0, 1, 2, 3, 500, 999, 1000]]
    counts = bin_spike_times(times, dt, n_bins, "x", "spike_times")
    assert counts.sum() == times.size
    assert counts[[0, 1, 2, 3, 500]].tolist() == [1, 1, 1, 1, 1] and counts[999] == 2
    assert bin_spike_times(np.nextafter(edges[[5]], 0), dt, n_bins, "x", "t")[4] == 1  # just below edge 5
    with pytest.raises(RecordingError, match="1 spike\\(s\\) outside the recording"):
        bin_spike_times(np.array([1.5]), dt, n_bins, "x", "spike_times")


def test_csv_with_a_time_column_and_several_units(tmp_path):
    path = tmp_path / "r.csv"
    rows = ["time,counts_a,counts_b,stim_light"] + [f"{0.005 * t:.6f},{int(COUNTS[t, 0])},{int(COUNTS[t, 1])},"
                                                    f"{float(STIMULUS[t, 0])!r}" for t in range(200)]
    path.write_text("\n".join(rows) + "\n")
    recording_file = read_recording_file(path)
    assert recording_file.unit_names == ("counts_a", "counts_b")
    assert recording_file.dt == pytest.approx(0.005)
    np.testing.assert_array_equal(load_recording(path, unit="counts_b").response, COUNTS[:, 1])
    np.testing.assert_array_equal(recording_file.stimulus[:, 0], STIMULUS[:, 0])


def test_tsv_needs_dt_without_a_time_column_and_picks_columns_by_name(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("spikes\tsound\n" + "".join(f"{int(c)}\t{float(s)!r}\n" for c, s in zip(COUNTS[:, 0], STIMULUS[:, 1])))
    options = LoadOptions({"counts": "spikes", "stimulus": "sound"})
    with pytest.raises(RecordingError, match="no time column"):
        read_recording_file(path, options)
    recording = load_recording(path, options=LoadOptions(options.variables, dt=0.01))
    np.testing.assert_array_equal(recording.response, COUNTS[:, 0])
    assert recording.dt == 0.01


def test_pillow_lab_tutorial_folder(tmp_path):
    frames = 0.5 + np.arange(300) * 0.00834
    scipy.io.savemat(tmp_path / "Stim.mat", {"Stim": RNG.standard_normal((300, 1))})
    scipy.io.savemat(tmp_path / "stimtimes.mat", {"stimtimes": frames[:, None]})
    trains = [np.sort(RNG.uniform(0.4, 3.0, 40)) for _ in range(4)]
    trains[0] = np.append(trains[0], frames[10])  # on a frame edge
    scipy.io.savemat(tmp_path / "SpTimes.mat", {"SpTimes": cell_array(trains)})
    recording_file = read_recording_file(tmp_path / "Stim.mat")
    assert recording_file.unit_names == ("cell 1", "cell 2", "cell 3", "cell 4")
    assert recording_file.dt == pytest.approx(0.00834)
    expected = np.histogram(trains[0], np.append(frames, frames[-1] + 0.00834))[0]
    np.testing.assert_array_equal(recording_file.responses[:, 0], expected)
    outside = sum(int(((t < frames[0]) | (t >= frames[-1] + 0.00834)).sum()) for t in trains)
    assert outside > 0 and recording_file.notes == (f"{outside} spike(s) outside the stimulus frames were not counted",)


def test_nwb_units_and_stimulus(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from datetime import datetime, timezone

    nwbfile = pynwb.NWBFile("test", "id", datetime(2026, 1, 1, tzinfo=timezone.utc))
    nwbfile.add_unit_column("unit_name", "name")
    nwbfile.add_unit(spike_times=[0.0101, 0.02, 0.5], unit_name="alpha")
    nwbfile.add_unit(spike_times=[0.3], unit_name="beta")
    stimulus = np.sin(np.arange(10_000) / 50.0)
    nwbfile.add_stimulus(pynwb.TimeSeries(name="sound", data=stimulus, unit="a.u.", rate=10_000.0, starting_time=0.0))
    path = tmp_path / "r.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    recording_file = read_recording_file(path, LoadOptions(dt=0.01))
    assert recording_file.unit_names == ("alpha", "beta") and recording_file.dt == 0.01
    assert recording_file.responses[:, 0].sum() == 3 and recording_file.responses[1, 0] == 1
    np.testing.assert_allclose(recording_file.stimulus[:5, 0], stimulus[:500].reshape(5, 100).mean(axis=1))


def test_nwb_without_pynwb_says_how_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pynwb(name, *args, **kwargs):
        if name == "pynwb":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    path = tmp_path / "r.nwb"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    monkeypatch.setattr(builtins, "__import__", no_pynwb)
    with pytest.raises(RecordingError, match='pip install "vbgui\\[nwb\\]"'):
        read_recording_file(path)


@pytest.mark.parametrize("name,content,fragment", [
    ("r.txt", b"1,2", "unknown recording format '.txt'"),
    ("r", b"1,2", "unknown recording format 'no extension'"),
    ("r.csv", b"", "empty file"),
    ("r.csv", b"counts,stim\n", "no rows of data"),
    ("r.csv", b"counts,stim\n1,2\n3,x\n", "not a table of numbers"),
    ("r.csv", b"time,counts\n0,1\n0.1,2\n0.15,1\n", "not evenly spaced"),
    ("r.csv", b"time,counts\n0,1\n0.1,-2\n0.2,1\n", "negative counts"),
    ("r.csv", b"time,counts,stim\n0,1,nan\n0.1,2,1\n", "'stimulus' contains NaN"),
    ("r.csv", b"time,stim\n0,1\n0.1,2\n", "no 'counts' or 'response' column"),
    ("r.mat", b"", "not a readable MATLAB file"),
    ("r.mat", b"MATLAB 5.0 MAT-file" + b"\0" * 200, "not a readable MATLAB file"),
    ("r.nwb", b"junk", "not a readable NWB file"),
])
def test_bad_files_are_named(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RecordingError) as info:
        read_recording_file(path, LoadOptions(dt=0.01) if name.endswith(".nwb") else None)
    assert str(info.value).startswith(str(path)) and fragment in str(info.value)


@pytest.mark.parametrize("arrays,fragment", [
    ({"counts": COUNTS[:, 0], "stimulus": STIMULUS[:150, 0], "dt": 0.01}, "'stimulus' has 150 bins but"),
    ({"counts": COUNTS[:, 0], "stimulus": STIMULUS[:, 0], "dt": 0.0}, "'dt' must be a positive"),
    ({"counts": COUNTS[:, 0], "stimulus": STIMULUS[:, 0]}, "no variable 'dt'"),
    ({"counts": np.full(200, np.inf), "dt": 0.01}, "contains NaN or Inf"),
    ({"counts": np.array(["abc"]), "dt": 0.01}, "'counts' must be numeric"),
    ({"spike_times": [0.1, 2.0], "duration": 1.0, "dt": 0.01}, "outside the recording"),
    ({"spike_times": [0.1, 0.2], "duration": -1.0, "dt": 0.01}, "'duration' must be a positive"),
])
def test_bad_mat_variables_are_named(tmp_path, arrays, fragment):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, arrays)
    with pytest.raises(RecordingError) as info:
        load_recording(path)
    assert str(info.value).startswith(str(path)) and fragment in str(info.value)


def _valid_bytes(tmp_path_factory, suffix: str) -> bytes:
    path = tmp_path_factory.mktemp("seed") / f"r{suffix}"
    if suffix == ".mat":
        scipy.io.savemat(path, {"counts": COUNTS[:20, 0], "stimulus": STIMULUS[:20, 0], "dt": 0.01})
    elif suffix == ".csv":
        path.write_text("time,counts,stim\n" + "".join(f"{0.01 * t},{int(COUNTS[t, 0])},{STIMULUS[t, 0]}\n"
                                                        for t in range(20)))
    else:
        write_mat73(path, {"counts": COUNTS[:20], "dt": [[0.01]]})
    return path.read_bytes()


@pytest.mark.parametrize("suffix,seed_kind", [(".mat", ".mat"), (".csv", ".csv"), (".mat", ".h5"), (".nwb", ".h5")])
def test_fuzzed_bytes_only_raise_the_loaders_error(tmp_path_factory, suffix, seed_kind):
    valid = _valid_bytes(tmp_path_factory, seed_kind)
    folder = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.one_of(
        st.binary(max_size=1500),
        st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)), min_size=1, max_size=12).map(
            lambda edits: _mutate(valid, edits)),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
    ))
    def check(data):
        path = folder / f"f{suffix}"
        path.write_bytes(data)
        try:
            read_recording_file(path, LoadOptions(dt=0.01))
        except RecordingError:
            pass

    check()


def _mutate(data: bytes, edits) -> bytes:
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position] = value
    return bytes(mutated)


@pytest.mark.parametrize("mutation,fragment", [("type code", "unknown data type 182"),
                                               ("complex flag", "its flags promise 2")])
def test_corrupt_v5_files_that_crashed_scipy_are_refused_before_it_reads_them(tmp_path, mutation, fragment):
    """scipy.io.loadmat crashed the process (segmentation fault) on these mutations, found by fuzzing."""
    path = tmp_path / "r.mat"
    scipy.io.savemat(path, {"counts": COUNTS[:20, 0], "stimulus": STIMULUS[:20, 0], "dt": 0.01})
    data = bytearray(path.read_bytes())
    if mutation == "type code":
        data[data.rindex(bytes([9, 0, 0, 0, 8, 0, 0, 0]))] = 182  # the miDOUBLE tag of dt's value
    else:
        data[128 + 8 + 9] = 0x08  # the first matrix's array flags: complex, with no imaginary part
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match=fragment):
        read_recording_file(path)


def test_other_names_raise_a_naming_error_the_window_can_answer_with_a_dialog(tmp_path):
    from vbgui.errors import NamingError

    path = tmp_path / "r.mat"
    scipy.io.savemat(path, {"spk": COUNTS[:, 0], "dt": 0.01})
    with pytest.raises(NamingError):
        read_recording_file(path)
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("spikes\n1\n2\n")
    with pytest.raises(NamingError):
        read_recording_file(csv_path)
    bad = tmp_path / "bad.mat"
    scipy.io.savemat(bad, {"counts": -np.ones(5), "dt": 0.01})
    with pytest.raises(RecordingError) as info:
        read_recording_file(bad)
    assert not isinstance(info.value, NamingError)
