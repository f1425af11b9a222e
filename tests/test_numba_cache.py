"""The numba cache folder is chosen explicitly where the default would fail."""
from __future__ import annotations

import os

from vbgui.numba_cache import choose_cache_dir


def test_an_explicit_setting_and_a_writable_source_tree_keep_numbas_choice(tmp_path):
    (tmp_path / "core").mkdir()
    assert choose_cache_dir(tmp_path, frozen=False, environ={"NUMBA_CACHE_DIR": "/x"}) is None
    assert choose_cache_dir(tmp_path, frozen=False, environ={}) is None


def test_frozen_apps_use_the_users_cache_folder(tmp_path):
    chosen = choose_cache_dir(tmp_path, frozen=True, environ={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert chosen == str(tmp_path / "cache" / "vbgui" / "numba") and os.path.isdir(chosen)


def test_a_read_only_cache_folder_falls_back_to_a_writable_one(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    chosen = choose_cache_dir(tmp_path, frozen=True, environ={"XDG_CACHE_HOME": str(blocked)})
    assert chosen is not None and not chosen.startswith(str(blocked))
    probe = os.path.join(chosen, "probe")
    with open(probe, "w") as handle:
        handle.write("ok")
    os.remove(probe)
