"""The OCI lifecycle through the real kernel: create, start, state, kill, delete."""

import json
import os
import time

from tests.helpers import new_id


def test_run_foreground_output_and_status(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "echo out; echo err >&2; exit 7")
    r = pyrunc.run(b)
    assert r.code == 7
    assert r.out == "out\n"
    assert "err\n" in r.err
    assert pyrunc.ids() == []


def test_create_start_state_delete(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sleep", "30")
    cid = new_id()
    pidfile = tmp_path / "pid"
    pyrunc.cmd("create", "--bundle", b.path, "--pid-file", pidfile, cid, check=True)
    st = pyrunc.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid and st["bundle"] == b.path
    assert pidfile.read_text() == str(st["pid"])  # no trailing newline
    # the waiting process is the one that will exec: a real host pid
    assert os.path.exists("/proc/%d" % st["pid"])
    pyrunc.cmd("start", cid, check=True)
    st = pyrunc.state(cid)
    assert st["status"] == "running"
    assert os.readlink("/proc/%d/exe" % st["pid"]).endswith("busybox")
    r = pyrunc.cmd("delete", cid)
    assert r.code != 0 and "not stopped" in r.err
    pyrunc.cmd("kill", cid, "KILL", check=True)
    for _ in range(100):
        if pyrunc.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert pyrunc.state(cid)["status"] == "stopped"
    assert pyrunc.state(cid)["pid"] == 0
    pyrunc.cmd("delete", cid, check=True)
    assert pyrunc.state(cid) is None
    assert not os.path.exists(os.path.join(pyrunc.root, cid))


def test_unknown_container_errors(pyrunc):
    for args in (("state", "nope"), ("kill", "nope", "9"), ("delete", "nope"), ("start", "nope")):
        r = pyrunc.cmd(*args)
        assert r.code != 0
        assert "container does not exist" in r.err
    assert pyrunc.cmd("delete", "--force", "nope").code == 0


def test_state_json_on_stdout_only(pyrunc, make_bundle):
    b = make_bundle("sleep", "30")
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, cid, check=True)
    r = pyrunc.cmd("state", cid)
    assert r.err == ""
    st = json.loads(r.out)
    assert list(st) == ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created",
                        "owner"]
    r = pyrunc.cmd("list", "--format", "json")
    assert r.err == "" and [s["id"] for s in json.loads(r.out)] == [cid]
