"""``vbgui --selftest`` run in-process: every check passes on the real window, and a failure says which."""
from __future__ import annotations

from pathlib import Path

from vbgui.gui import main_window, selftest


def test_the_selftest_passes_in_process(qtbot) -> None:
    lines: list[str] = []
    assert selftest.run_selftest(lines.append) == 0
    assert all(line.startswith("selftest: ok") for line in lines[:-1]), lines
    text = "\n".join(lines)
    for family in selftest.FAMILIES:
        assert f"{family} fit: ELBO" in text
    assert "ELBO ordering" in text and "reopened" in text
    for suffix in (".json", ".csv", ".npz", ".mat"):
        assert f"export selftest-result{suffix}" in text
    assert lines[-1].startswith("selftest: all checks passed")


def test_a_failing_check_is_named_and_exits_1(qtbot, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(main_window, "SAMPLE_RECORDING", Path(tmp_path / "missing.npz"))
    lines: list[str] = []
    assert selftest.run_selftest(lines.append) == 1
    assert lines == ["selftest: FAIL  sample: no sample recording loaded ()"]
