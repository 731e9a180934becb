"""CVE-2022-29162: a non-empty inheritable capability set leaks into exec'd programs.

runc before 1.1.2 gave ``runc exec`` processes (and, with --cap, extra capabilities) a
non-empty *inheritable* set. Inheritable capabilities are not in effect by themselves, but a
program whose file has matching inheritable capabilities (setcap cap_xxx+ei) gains them at
execve: an unprivileged user in the container could raise privileges through such a binary,
beyond what the config's effective/permitted sets allow. The fix: the inheritable set is what
the config says, empty when it says nothing, and ``exec --cap`` no longer adds to it.

pyrunc: attrs.py ``apply_caps`` sets exactly the config's inheritable mask (0 if absent) with
capset, and clears then raises only the config's ambient caps; cmd_exec.py ``--cap`` adds to
bounding/effective/permitted only.

runc 1.1.5: fixed in 1.1.2, not vulnerable (checked below as a differential test).
"""

import json

import pytest

from tests.helpers import new_id

SHOW = "grep -E '^Cap(Inh|Amb):' /proc/self/status"


def _caps(out):
    return {ln.split(":")[0]: int(ln.split()[1], 16) for ln in out.splitlines() if ":" in ln}


def _mask(*names):
    from pyrunc.linux.capnames import CAP_NAMES
    return sum(1 << CAP_NAMES.index(n) for n in names)


@pytest.fixture
def running(pyrunc, make_bundle):
    b = make_bundle("sleep", "300")
    b.config["process"]["noNewPrivileges"] = False
    b.write()
    cid = new_id()
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    return cid


def test_run_inheritable_empty_unless_asked(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", SHOW)
    r = pyrunc.run(b)
    assert r.code == 0 and _caps(r.out) == {"CapInh": 0, "CapAmb": 0}, r
    b.config["process"]["capabilities"]["inheritable"] = ["CAP_KILL"]
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0 and _caps(r.out)["CapInh"] == _mask("CAP_KILL"), r


def test_exec_inheritable_empty_with_default_and_extra_caps(pyrunc, running):
    r = pyrunc.cmd("exec", running, "sh", "-c", SHOW)
    assert r.code == 0 and _caps(r.out) == {"CapInh": 0, "CapAmb": 0}, r
    r = pyrunc.cmd("exec", "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_NET_RAW", running,
                   "sh", "-c", SHOW)
    assert r.code == 0 and _caps(r.out) == {"CapInh": 0, "CapAmb": 0}, r
    r = pyrunc.cmd("exec", "--user", "1000:1000", running, "sh", "-c", SHOW)
    assert r.code == 0 and _caps(r.out) == {"CapInh": 0, "CapAmb": 0}, r


def test_exec_process_json_inheritable_exactly(pyrunc, running, tmp_path):
    proc = {"args": ["sh", "-c", SHOW], "cwd": "/", "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"],
                             "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
                             "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}}
    p = tmp_path / "p.json"
    p.write_text(json.dumps(proc))
    r = pyrunc.cmd("exec", "--process", str(p), running)
    assert r.code == 0 and _caps(r.out) == {"CapInh": _mask("CAP_KILL"),
                                            "CapAmb": _mask("CAP_KILL")}, r
    del proc["capabilities"]["inheritable"]
    p.write_text(json.dumps(proc))
    r = pyrunc.cmd("exec", "--process", str(p), running)
    # no inheritable asked: none, and then no ambient either (it needs inheritable)
    assert r.code == 0 and _caps(r.out) == {"CapInh": 0, "CapAmb": 0}, r


@pytest.mark.runc
def test_runc_exec_inheritable_empty(runc, make_bundle):
    b = make_bundle("sleep", "300")
    cid = new_id()
    runc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    r = runc.cmd("exec", "--cap", "CAP_SYS_ADMIN", cid, "sh", "-c", SHOW)
    assert r.code == 0 and _caps(r.out)["CapInh"] == 0, r
