"""Hostile bundles: odd root paths, symlinks out, huge or deep JSON, bad bytes, files that are
not files. Each must run (where that is safe and meant) or fail with one line, leaving
nothing behind; none may hang, eat memory or crash with a traceback.

Found and fixed here (spec/load.py, jsonio.py, lifecycle.py):
* ``[[[[...]]]]`` 100 000 deep: a RecursionError ("internal error") -> "nested too deeply";
  ~990 deep under an unknown key parsed, then crashed encoding state.json -> documents are
  limited to 200 levels;
* config.json a FIFO: ``create`` blocked forever; a symlink to /dev/zero: read until memory
  ran out -> only a regular file (up to 64 MiB) is read;
* a lone-surrogate escape ("\\udcff") in any string: "container init failed:
  UnicodeEncodeError" -> refused when loading;
* root.path through a symlink (to "/" say) was followed -> refused, as runc does;
* no mount namespace in linux.namespaces: the rootfs mounts and pivot_root ran in the
  *caller's* mount namespace, moving every host process into the container's rootfs ->
  refused (the test runs pyrunc inside a throw-away mount namespace, in case).
"""

import json
import os
import subprocess

import pytest

from tests.helpers import new_id
from tests.security.common import one_line_error


def _raw(b, data):
    with open(os.path.join(b.path, "config.json"), "wb") as f:
        f.write(data)


def _nothing_left(pyrunc):
    assert pyrunc.ids() == []
    assert not os.path.isdir(pyrunc.root) or os.listdir(pyrunc.root) == []


@pytest.mark.parametrize("depth", [100000, 5000, 995, 250])
def test_deep_json_is_one_line(pyrunc, bundle, depth):
    with open(os.path.join(bundle.path, "config.json")) as f:
        text = f.read().rstrip().rstrip("}")
    _raw(bundle, (text + ', "zzz": ' + "[" * depth + "]" * depth + "}").encode())
    msg = one_line_error(pyrunc.run(bundle, timeout=60))
    assert "nested" in msg
    _nothing_left(pyrunc)


def test_top_level_deep_array(pyrunc, bundle):
    _raw(bundle, b"[" * 100000 + b"]" * 100000)
    assert "nested too deeply" in one_line_error(pyrunc.run(bundle))


def test_big_but_sane_config_runs(pyrunc, bundle):
    bundle.config["annotations"] = {"k%d" % i: "v" * 1000 for i in range(5000)}  # ~5 MB
    bundle.write()
    r = pyrunc.run(bundle, timeout=120)
    assert r.code == 0, r


@pytest.mark.parametrize("data", [
    b"\xff\xfe{}", b'{"ociVersion": "1.0.0", "x": "\xc3\x28"}', b"\xef\xbb\xbf{}",
    b'{"ociVersion": "\\udcff"}', b"", b"null", b"{", b"1e999", b"NaN",
], ids=["utf16-bom", "bad-utf8", "utf8-bom", "lone-surrogate", "empty", "null",
        "truncated", "huge-number", "nan"])
def test_bad_bytes_are_one_line(pyrunc, bundle, data):
    _raw(bundle, data)
    one_line_error(pyrunc.run(bundle))
    _nothing_left(pyrunc)


def test_lone_surrogate_in_a_field_is_refused(pyrunc, bundle):
    text = json.dumps(bundle.config).replace('"PATH=', '"X=\\udcff", "PATH=')
    _raw(bundle, text.encode())
    assert "not valid Unicode" in one_line_error(pyrunc.run(bundle))


def test_missing_pieces(pyrunc, make_bundle, tmp_path):
    r = pyrunc.cmd("run", "--bundle", str(tmp_path / "nonexistent"), new_id())
    assert "config.json" in one_line_error(r)
    b = make_bundle("true")
    os.unlink(os.path.join(b.path, "config.json"))
    assert "config.json" in one_line_error(pyrunc.run(b))
    b = make_bundle("true")
    b.config["root"]["path"] = "no-such-rootfs"
    b.write()
    assert "root.path" in one_line_error(pyrunc.run(b))
    _nothing_left(pyrunc)


def test_config_json_directory_fifo_device(pyrunc, make_bundle):
    b = make_bundle("true")
    os.unlink(os.path.join(b.path, "config.json"))
    os.mkdir(os.path.join(b.path, "config.json"))
    assert "Is a directory" in one_line_error(pyrunc.run(b))
    os.rmdir(os.path.join(b.path, "config.json"))
    os.mkfifo(os.path.join(b.path, "config.json"))
    assert "not a regular file" in one_line_error(pyrunc.run(b, timeout=20))  # no hang
    os.unlink(os.path.join(b.path, "config.json"))
    os.symlink("/dev/zero", os.path.join(b.path, "config.json"))
    assert "not a regular file" in one_line_error(pyrunc.run(b, timeout=20))
    _nothing_left(pyrunc)


def test_root_path_with_dotdot(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["root"]["path"] = "rootfs/../rootfs/./"
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0, r
    b.config["root"]["path"] = "../../../../../../../../nonexistent-root"
    b.write()
    assert "root.path" in one_line_error(pyrunc.run(b))


@pytest.mark.parametrize("target", ["/", "../rootfs-real"])
def test_rootfs_symlink_is_refused(pyrunc, make_bundle, target):
    b = make_bundle("true")
    os.rename(b.rootfs, os.path.join(b.path, "rootfs-real"))
    os.symlink(target, b.rootfs)
    msg = one_line_error(pyrunc.run(b))
    assert "symlink" in msg
    _nothing_left(pyrunc)


@pytest.mark.runc
def test_runc_refuses_rootfs_symlink_too(runc, make_bundle):
    b = make_bundle("true")
    os.rename(b.rootfs, os.path.join(b.path, "rootfs-real"))
    os.symlink("rootfs-real", b.rootfs)
    r = runc.run(b)
    assert r.code != 0 and "symlink" in r.err, r


@pytest.mark.parametrize("name,target", [("dev", "/"), ("dev", "../../../.."),
                                         ("sys", "/"), ("proc", "/")])
def test_image_symlinks_to_the_root_are_refused(pyrunc, make_bundle, name, target):
    """/dev -> / in the image would put the /dev tmpfs over the whole rootfs (hiding /proc);
    proc and sysfs on a symlink are refused outright."""
    b = make_bundle("true")
    p = os.path.join(b.rootfs, name)
    os.rmdir(p)
    os.symlink(target, p)
    one_line_error(pyrunc.run(b))
    _nothing_left(pyrunc)


def test_no_mount_namespace_is_refused(pyrunc, make_bundle, tmp_path):
    b = make_bundle("true")
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"]
                                       if n["type"] != "mount"]
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    b.write()
    # in a private mount namespace of its own, so that a regression can't take the host's
    script = ('"$@"; echo "rc=$?"; test -e /proc/self/mountinfo && echo host-root-intact')
    cp = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                         "sh"] + pyrunc.argv + ["--root", pyrunc.root, "run", "--bundle",
                                                b.path, new_id()],
                        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "host-root-intact" in cp.stdout and "rc=1" in cp.stdout, cp
    assert "a mount namespace is required" in cp.stderr, cp
    assert len(cp.stderr.strip().splitlines()) == 1, cp
