"""pyrunc/seccomp/cache.py: the cached program is the one compile_filter makes, and anything
doubtful (a damaged entry, another libseccomp, a NOTIFY profile) means compiling again."""
import json
import os
import stat

import pytest

from pyrunc.seccomp import cache
from pyrunc.seccomp.compile import compile_filter
from tests.helpers import SHARED

pytest.importorskip("pyrunc.seccomp._seccomp_ffi")


def _profile():
    with open(os.path.join(SHARED, "reference", "clients", "docker-config.json")) as f:
        return json.load(f)["linux"]["seccomp"]


def _entries(root):
    d = os.path.join(root, cache.DIRNAME)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_cached_program_is_the_compiled_one(tmp_path):
    root = str(tmp_path / "root")
    sc = _profile()
    want = compile_filter(sc, connect=False)
    first = cache.compiled(root, sc)
    assert len(_entries(root)) == 1
    second = cache.compiled(root, sc)
    for f in (first, second):
        assert (f.program, f.flags, f.seccomp_nr) == (want.program, want.flags,
                                                      want.seccomp_nr)
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(root, cache.DIRNAME)).st_mode) == 0o700


def test_hit_does_not_compile(tmp_path, monkeypatch):
    root = str(tmp_path)
    sc = _profile()
    cache.compiled(root, sc)
    import pyrunc.seccomp.compile as comp
    monkeypatch.setattr(comp, "compile_filter", lambda *a, **k: pytest.fail("compiled"))
    assert cache.compiled(root, sc).program


@pytest.mark.parametrize("garbage", [b"", b"{", b'{"program": "zz", "flags": 0, '
                                     b'"seccomp_nr": 317}', b'{"program": "0011", "flags": 0, '
                                     b'"seccomp_nr": 317}', b'{"program": "00", "flags": "0"}'])
def test_damaged_entry_is_compiled_again(tmp_path, garbage):
    root = str(tmp_path)
    sc = _profile()
    good = cache.compiled(root, sc)
    (name,) = _entries(root)
    path = os.path.join(root, cache.DIRNAME, name)
    with open(path, "wb") as f:
        f.write(garbage)
    assert cache.compiled(root, sc).program == good.program
    with open(path, "rb") as f:
        assert json.loads(f.read())["program"] == good.program.hex()  # replaced


def test_key_follows_profile_and_library(tmp_path, monkeypatch):
    sc = _profile()
    k = cache._key(sc)
    other = dict(sc, defaultErrnoRet=38)
    assert cache._key(other) != k
    monkeypatch.setattr(cache, "_library_identity", lambda: "/lib/libseccomp.so.2:1:2:3")
    assert cache._key(sc) != k
    monkeypatch.setattr(cache, "_library_identity", lambda: None)
    assert cache._key(sc) is None
    cache.compiled(str(tmp_path), sc)  # no identity: compiled, nothing stored
    assert _entries(str(tmp_path)) == []


def test_notify_profiles_are_not_cached():
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    assert not cache.cacheable(sc)
    assert cache.cacheable(_profile())


def test_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    root = str(tmp_path)
    for n in range(5):
        cache.compiled(root, {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": n + 1}]})
    assert len(_entries(root)) == 3


def test_unwritable_root_still_compiles(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    assert cache.compiled(str(f), _profile()).program  # root is a file: no cache, no error


def test_hit_logs_what_compiling_said(tmp_path, monkeypatch):
    sc = _profile()
    sc["syscalls"].append({"names": ["no_such_syscall_xyz"], "action": "SCMP_ACT_ALLOW"})
    said = []
    monkeypatch.setattr(cache.log, "debug", said.append)
    cache.compiled(str(tmp_path), sc)
    said.clear()
    cache.compiled(str(tmp_path), sc)  # from the cache
    assert any("no_such_syscall_xyz" in m for m in said), said
