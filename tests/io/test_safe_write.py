"""safe_write: no replacing without force, never an input, one winner per new path, no temporary file left."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from vbgui.errors import OutputFileError
from vbgui.io import safe_write
from vbgui.io.safe_write import TEMP_MARK, check_target, clean_stale_temps, write_file, write_files

REPO = Path(__file__).resolve().parents[2]


def writer(content: bytes):
    return lambda handle: handle.write(content)


def test_an_existing_file_is_replaced_only_with_force(tmp_path):
    path = tmp_path / "out.json"
    path.write_bytes(b"mine")
    with pytest.raises(OutputFileError, match="already exists; not overwritten \\(use --force"):
        write_file(path, writer(b"new"), force=False)
    assert path.read_bytes() == b"mine"
    write_file(path, writer(b"new"), force=True)
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.mark.parametrize("link", ["same path", "symlink", "hard link", "relative"])
def test_an_input_is_never_replaced_even_with_force(tmp_path, link, monkeypatch):
    source = tmp_path / "rec.npz"
    source.write_bytes(b"recording")
    if link == "same path":
        target = source
    elif link == "symlink":
        target = tmp_path / "alias.npz"
        target.symlink_to(source)
    elif link == "hard link":
        target = tmp_path / "hard.npz"
        os.link(source, target)
    else:
        monkeypatch.chdir(tmp_path)
        target = Path("sub/../rec.npz")
        (tmp_path / "sub").mkdir()
    for force in (False, True):
        with pytest.raises(OutputFileError, match="this is also an input"):
            write_file(target, writer(b"json"), force=force, inputs=[str(source)])
    assert source.read_bytes() == b"recording"


def test_missing_folder_and_folder_target(tmp_path):
    with pytest.raises(OutputFileError, match="does not exist"):
        check_target(tmp_path / "nope" / "x.json", force=True)
    with pytest.raises(OutputFileError, match="is a folder"):
        check_target(tmp_path, force=True)


def test_a_failing_writer_leaves_no_target_and_no_temporary_file(tmp_path):
    def broken(handle):
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_files([(tmp_path / "a.csv", writer(b"a")), (tmp_path / "b.csv", broken)], force=False)
    assert list(tmp_path.iterdir()) == []


def test_a_set_is_all_or_nothing_when_a_name_is_taken_midway(tmp_path, monkeypatch):
    """If another writer creates the second name between the check and the link, the first is removed too."""
    real = safe_write._write_temp

    def racing(target, write):
        if target.name == "b.csv":
            target.write_bytes(b"theirs")
        return real(target, write)

    monkeypatch.setattr(safe_write, "_write_temp", racing)
    with pytest.raises(OutputFileError, match="another writer created it just now"):
        write_files([(tmp_path / "a.csv", writer(b"a")), (tmp_path / "b.csv", writer(b"b"))], force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]
    assert (tmp_path / "b.csv").read_bytes() == b"theirs"


def test_temporary_files_of_dead_writers_are_cleaned_at_the_next_write(tmp_path):
    target = tmp_path / "fit.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f".fit.csv{TEMP_MARK}{dead.stdout.strip()}-abc123"
    unnamed = tmp_path / f".fit.csv{TEMP_MARK}garbage"
    live = tmp_path / f".fit.csv{TEMP_MARK}{os.getpid()}-inflight"
    other = tmp_path / f".other.csv{TEMP_MARK}1-x"
    for path in (stale, unnamed, live, other):
        path.write_bytes(b"partial")
    write_file(target, writer(b"done"), force=False)
    assert not stale.exists() and not unnamed.exists()
    assert live.exists() and other.exists()  # a running writer's file, and another target's
    assert target.read_bytes() == b"done"
    assert clean_stale_temps(target) == []


@pytest.mark.parametrize("links", ["hard links", "no hard links"])
def test_racing_threads_one_wins_the_other_is_refused(tmp_path, monkeypatch, links):
    if links == "no hard links":
        import errno

        def no_links(source, target):
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_links)
    for trial in range(60):
        target = tmp_path / f"race{trial}.json"
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def attempt(label: str) -> None:
            def write(handle):
                barrier.wait()  # both have checked the target and hold a finished temp file before linking
                handle.write(label.encode() * 1000)
            try:
                write_file(target, write, force=False)
                outcomes[label] = "won"
            except OutputFileError:
                outcomes[label] = "refused"

        threads = [threading.Thread(target=attempt, args=(label,)) for label in ("A", "B")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes.values()) == ["refused", "won"], (trial, outcomes)
        winner = next(label for label, outcome in outcomes.items() if outcome == "won")
        assert target.read_bytes() == winner.encode() * 1000
    assert not [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]


RACER = textwrap.dedent("""
    import sys, time
    from vbgui.errors import OutputFileError
    from vbgui.io.safe_write import write_file
    target, label, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    def write(handle):
        handle.write(label.encode() * 100_000)
        time.sleep(max(0.0, start - time.time()))  # both processes finish their temp file, then race to link
    try:
        write_file(target, write, force=False)
    except OutputFileError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
""")


def test_racing_processes_one_wins_the_other_exits_2(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for trial in range(8):
        target = tmp_path / f"race{trial}.npz"
        start = time.time() + 1.0
        racers = [subprocess.Popen([sys.executable, "-c", RACER, str(target), label, str(start)], env=env,
                                   stderr=subprocess.PIPE, text=True) for label in ("A", "B")]
        codes = [racer.wait(timeout=60) for racer in racers]
        errors = [racer.stderr.read() for racer in racers]
        assert sorted(codes) == [0, 2], (trial, codes, errors)
        winner = "AB"[codes.index(0)]
        assert target.read_bytes() == winner.encode() * 100_000
        assert "already exists" in errors[codes.index(2)]
    assert not [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]


def test_without_hard_links_the_name_is_still_created_exclusively(tmp_path, monkeypatch):
    """File systems without hard links (FAT, some network mounts): O_EXCL creation, then the content."""
    import errno

    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "out.json"
    write_file(target, writer(b"first"), force=False)
    with pytest.raises(OutputFileError, match="already exists"):
        write_file(target, writer(b"second"), force=False)
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_writer_killed_mid_write_leaves_nothing_after_the_next_write(tmp_path):
    import signal

    target = tmp_path / "fit.npz"
    script = textwrap.dedent("""
        import sys, time
        from vbgui.io.safe_write import write_file
        def write(handle):
            handle.write(b"partial" * 1000)
            handle.flush()
            time.sleep(60)
        write_file(sys.argv[1], write, force=False)
    """)
    writer_process = subprocess.Popen([sys.executable, "-c", script, str(target)],
                                      env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.time() + 30
    while not [p for p in tmp_path.iterdir() if TEMP_MARK in p.name] and time.time() < deadline:
        time.sleep(0.05)
    writer_process.send_signal(signal.SIGKILL)
    writer_process.wait(timeout=10)
    left = [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]
    assert len(left) == 1 and left[0].name.startswith(f".fit.npz{TEMP_MARK}{writer_process.pid}-")
    assert not target.exists()
    write_file(target, writer(b"complete"), force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.npz"] and target.read_bytes() == b"complete"
