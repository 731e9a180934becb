"""pyrunc._os, the stand-in for ``os`` on the short commands' path: the same answers as os
and posixpath, and the rest of os through it."""

import os
import posixpath

import pytest

from pyrunc import _os

PATHS = ["", "/", "//", "///", "a", "/a", "a/", "/a/", "a/b", "/a/b/", "a//b", "//a//b//",
         ".", "..", "/./", "a/./b", "x/y/z.json", "/run/pyrunc/c1/state.json", "é/ü"]


def test_path_functions_match_posixpath():
    for p in PATHS:
        for name in ("split", "dirname", "basename", "isabs", "normpath", "abspath"):
            assert getattr(_os.path, name)(p) == getattr(posixpath, name)(p), (name, p)
        for q in PATHS:
            assert _os.path.join(p, q) == posixpath.join(p, q), (p, q)
            assert _os.path.join(p, q, "r") == posixpath.join(p, q, "r"), (p, q)
    assert _os.path.join(b"/a", b"b") == b"/a/b"
    assert _os.path.normpath(b"/a/../b") == b"/b" and _os.path.abspath(b"a") == \
        posixpath.abspath(b"a")
    with pytest.raises(TypeError):
        _os.path.join("/a", b"b")


def test_isdir_exists(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    (tmp_path / "l").symlink_to("d")
    for p in (str(tmp_path), str(f), str(tmp_path / "missing"), str(tmp_path / "l"),
              "bad\0path", str(f) + "/x"):
        assert _os.path.isdir(p) == os.path.isdir(p), p
        assert _os.path.exists(p) == os.path.exists(p), p


def test_the_rest_comes_from_os():
    assert _os.open is os.open and _os.O_CLOEXEC == os.O_CLOEXEC and _os._exit is os._exit
    assert _os.walk is os.walk and _os.makedirs is os.makedirs
    assert _os.path.realpath is posixpath.realpath
    assert (_os.sep, _os.SEEK_SET, _os.SEEK_END) == (os.sep, os.SEEK_SET, os.SEEK_END)


def test_environ_is_the_start_environment_read_only():
    assert dict(_os.environ) == {k: v for k, v in os.environ.items()
                                 if k in _os.environ} and len(_os.environ) > 0
    with pytest.raises(TypeError):
        _os.environ["X"] = "1"
    with pytest.raises(TypeError):
        _os.environ.pop("PATH")


def test_fsencode_fsdecode_match_os():
    for v in ("a", "/é/ü", "x\udcff", b"/a\xff", "", b""):
        assert _os.fsencode(v) == os.fsencode(v), v
        assert _os.fsdecode(v) == os.fsdecode(v), v
    with pytest.raises(TypeError):
        _os.fsencode(3)


def test_load_realpath_matches_posixpath(tmp_path):
    from pyrunc.spec.load import _realpath
    (tmp_path / "d").mkdir()
    (tmp_path / "l").symlink_to("d")
    (tmp_path / "d" / "f").write_text("")
    (tmp_path / "loop").symlink_to("loop")
    for p in ("d", "l", "l/f", "l/../d", "missing", "missing/x", "loop", ".", "d/./f"):
        full = str(tmp_path / p)
        assert _realpath(full) == os.path.realpath(full), p
