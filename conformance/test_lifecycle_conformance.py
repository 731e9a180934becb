"""Lifecycle conformance: every operation in every state, under runc and pyrunc alike.

Each test runs twice, against runc (the reference) and against pyrunc, with the same
expectations: runtime.md's operations (create, start, state, kill, delete) in each state
(created, running, stopped, unknown id), their errors (a non-zero exit, and no effect on the
container), and the error text runc's clients match on (CONTRACT.md: ``container does not
exist``, ``container not running``, ``cannot start a container that has stopped``).  Where the
two runtimes word other errors differently, only the exit status and the absence of effect are
asserted.

``@pytest.mark.req`` names the rows of conformance/requirements.tsv a test checks.

One deliberate departure from runtime.md is asserted as runc's behaviour, for both:
``delete`` of a *created* container (no --force) kills and removes it, as runc does and its
clients expect (requirements.tsv row RT-DEL-03 documents it).
"""

import json
import os
import time
import uuid

import pytest

from tests.helpers import new_id

req = pytest.mark.req


@pytest.fixture(params=["runc", "pyrunc"])
def rt(request):
    """The runtime under test: runc and pyrunc in turn (each with a private --root)."""
    return request.getfixturevalue(request.param)


# -- helpers ------------------------------------------------------------------------------------


def deviation(request, runtime, reason):
    """A known departure of ``runtime`` from runtime-spec: strict xfail for that runtime only,
    so the test still fails when the departure goes away (then drop the mark)."""
    if request.getfixturevalue("rt").name == runtime:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def wait_status(rt, cid, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = rt.state(cid)
        if st is not None and st["status"] == want:
            return st
        time.sleep(0.02)
    raise AssertionError("%s: %s never became %s (last state %r)" % (rt.name, cid, want, st))


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.02)
    raise AssertionError("process %d is still alive" % pid)


def created(rt, bundle, cid=None):
    cid = cid or new_id()
    rt.cmd("create", "--bundle", bundle.path, cid, check=True)
    return cid


def running(rt, bundle, cid=None):
    cid = created(rt, bundle, cid)
    rt.cmd("start", cid, check=True)
    return cid


def stopped(rt, bundle, cid=None):
    """A container whose program ran and exited by itself."""
    cid = running(rt, bundle, cid)
    wait_status(rt, cid, "stopped")
    return cid


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def cgroup_mounts():
    """[(mountpoint, fstype, super options)] of the cgroup hierarchies mounted here."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            r = right.split()
            if r and r[0] in ("cgroup", "cgroup2"):
                out.append((left.split()[4], r[0], r[2] if len(r) > 2 else ""))
    return out


def cgroup_dirs(cgroups_path):
    """Where an absolute cgroupsPath lands in every mounted hierarchy (existing or not)."""
    return [os.path.join(mp, cgroups_path.lstrip("/")) for mp, _, _ in cgroup_mounts()]


def pids_hierarchy():
    """A hierarchy a process can be moved into: v1 pids if mounted, else the cgroup2 root."""
    for mp, fs, opts in cgroup_mounts():
        if fs == "cgroup" and "pids" in opts.split(","):
            return mp
    for mp, fs, _ in cgroup_mounts():
        if fs == "cgroup2" and mp == "/sys/fs/cgroup":
            return mp
    pytest.skip("no pids v1 hierarchy nor a cgroup2 root at /sys/fs/cgroup")


def root_of(pid):
    try:
        return os.readlink("/proc/%d/root" % pid)
    except OSError:
        return None


def processes_in(rootfs):
    """Host pids whose root directory is ``rootfs`` (what a half-created container leaves)."""
    rootfs = os.path.realpath(rootfs)
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and root_of(int(name)) == rootfs:
            out.append(int(name))
    return out


# -- create -------------------------------------------------------------------------------------


@req("RT-CREATE-02", "RT-CREATE-03", "RT-STATE-03", "RT-ERR-01")
def test_create_twice_with_the_same_id(rt, make_bundle):
    b1 = make_bundle("sleep", "30")
    b2 = make_bundle("sleep", "30")
    cid = created(rt, b1)
    before = rt.state(cid)
    r = rt.cmd("create", "--bundle", b2.path, cid)
    assert r.code != 0, r
    # no new container, and the first one is untouched
    assert rt.ids() == [cid]
    after = rt.state(cid)
    assert after["status"] == "created" and after["pid"] == before["pid"]
    assert after["bundle"] == b1.path
    assert pid_alive(before["pid"])


@req("RT-CREATE-01", "RT-OPS-01")
def test_create_needs_an_id_and_a_bundle(rt, make_bundle, tmp_path):
    b = make_bundle("true")
    r = rt.cmd("create", "--bundle", b.path)
    assert r.code != 0, r
    r = rt.cmd("create", "--bundle", str(tmp_path / "no-such-bundle"), new_id())
    assert r.code != 0, r
    assert rt.ids() == []


@req("RT-LC-04", "RT-CREATE-06", "RT-START-04", "RT-LC-14", "RT-CREATE-04")
def test_the_program_runs_at_start_not_at_create(rt, make_bundle):
    b = make_bundle("sh", "-c", "echo ran >> /out")
    cid = created(rt, b)
    time.sleep(0.3)
    assert read(os.path.join(b.rootfs, "out")) is None, "the program ran during create"
    rt.cmd("start", cid, check=True)
    wait_status(rt, cid, "stopped")
    assert read(os.path.join(b.rootfs, "out")) == "ran\n"


@req("RT-LC-05")
def test_config_changes_after_create_have_no_effect(rt, make_bundle):
    b = make_bundle("sh", "-c", "echo original >> /out")
    cid = created(rt, b)
    cfg = dict(b.config)
    cfg["process"] = dict(cfg["process"], args=["sh", "-c", "echo changed >> /out"])
    with open(os.path.join(b.path, "config.json"), "w") as f:
        json.dump(cfg, f)
    rt.cmd("start", cid, check=True)
    wait_status(rt, cid, "stopped")
    assert read(os.path.join(b.rootfs, "out")) == "original\n"
    # even a config.json that is no longer valid does not matter any more
    b.write()
    cid2 = created(rt, b)
    with open(os.path.join(b.path, "config.json"), "w") as f:
        json.dump({"ociVersion": "1.0.0"}, f)
    rt.cmd("start", cid2, check=True)
    wait_status(rt, cid2, "stopped")
    assert read(os.path.join(b.rootfs, "out")) == "original\noriginal\n"


@req("RT-LC-02", "RT-CREATE-07", "RT-CREATE-08", "RT-ERR-01")
def test_a_failed_create_leaves_nothing_behind(rt, make_bundle, tmp_path):
    # fails late, inside the new namespaces: a bind mount whose source does not exist
    b = make_bundle("true")
    cid = new_id()
    cg = "/pyrunc-conf-%s" % cid
    b.config["linux"]["cgroupsPath"] = cg
    b.config["mounts"].append({"destination": "/data", "type": "bind",
                               "source": str(tmp_path / "missing"), "options": ["rbind"]})
    b.write()
    r = rt.cmd("create", "--bundle", b.path, cid)
    assert r.code != 0, r
    assert rt.state(cid) is None
    assert rt.ids() == []
    assert not os.path.exists(os.path.join(rt.root, cid))
    assert [d for d in cgroup_dirs(cg) if os.path.exists(d)] == []
    time.sleep(0.2)
    assert processes_in(b.rootfs) == []
    # the id is free again
    b.config["mounts"].pop()
    b.write()
    created(rt, b, cid)
    assert rt.state(cid)["status"] == "created"


# -- state --------------------------------------------------------------------------------------


@req("RT-STATE-01", "RT-STATE-02", "RT-STATE-04", "RT-STATE-06", "RT-STATE-07",
     "RT-STATE-08", "RT-QUERY-03")
def test_state_in_each_status(rt, make_bundle):
    from pyrunc.spec.validate import validate_state
    b = make_bundle("sleep", "30")
    cid = created(rt, b)
    r = rt.cmd("state", cid)
    assert r.code == 0
    st = json.loads(r.out)
    validate_state(st)
    assert st["id"] == cid and st["status"] == "created" and st["bundle"] == b.path
    assert isinstance(st["ociVersion"], str) and st["ociVersion"][:1].isdigit()
    pid = st["pid"]
    assert pid > 0 and pid_alive(pid)

    rt.cmd("start", cid, check=True)
    st = rt.state(cid)
    validate_state(st)
    assert st["status"] == "running" and st["pid"] == pid
    assert os.readlink("/proc/%d/exe" % pid).endswith("busybox")

    rt.cmd("kill", cid, "KILL", check=True)
    st = wait_status(rt, cid, "stopped")
    validate_state(st)
    assert st["pid"] == 0 and st["id"] == cid and st["bundle"] == b.path


@req("RT-QUERY-02")
def test_state_of_an_unknown_id(rt):
    r = rt.cmd("state", "no-such-" + uuid.uuid4().hex[:8])
    assert r.code != 0
    assert "container does not exist" in r.err
    assert r.out == ""


@req("RT-QUERY-01", "RT-START-01", "RT-KILL-01", "RT-DEL-01")
def test_operations_without_an_id_fail(rt):
    for args in (("state",), ("start",), ("kill",), ("delete",)):
        r = rt.cmd(*args)
        assert r.code != 0, (args, r)


@req("RT-QUERY-02", "RT-START-03", "RT-KILL-03", "RT-DEL-03")
def test_operations_on_an_unknown_id_fail_with_the_contract_text(rt):
    cid = "no-such-" + uuid.uuid4().hex[:8]
    for args in (("state", cid), ("start", cid), ("kill", cid, "KILL"), ("delete", cid)):
        r = rt.cmd(*args)
        assert r.code != 0, (args, r)
        assert "container does not exist" in r.err, (args, r)


def test_delete_force_of_an_unknown_id_succeeds(rt):
    # not runtime.md: runc's contract (containerd and podman force-delete what may be gone)
    r = rt.cmd("delete", "--force", "no-such-" + uuid.uuid4().hex[:8])
    assert r.code == 0, r


# -- start --------------------------------------------------------------------------------------


@req("RT-START-02", "RT-START-03")
def test_start_twice(rt, make_bundle):
    b = make_bundle("sleep", "30")
    cid = running(rt, b)
    pid = rt.state(cid)["pid"]
    r = rt.cmd("start", cid)
    assert r.code != 0, r
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid and pid_alive(pid)


@req("RT-START-02", "RT-START-03")
def test_start_of_a_stopped_container(rt, make_bundle):
    b = make_bundle("sh", "-c", "echo ran >> /out")
    cid = stopped(rt, b)
    r = rt.cmd("start", cid)
    assert r.code != 0, r
    assert "cannot start a container that has stopped" in r.err
    time.sleep(0.3)
    assert read(os.path.join(b.rootfs, "out")) == "ran\n"   # not run a second time
    assert rt.state(cid)["status"] == "stopped"


# -- kill ---------------------------------------------------------------------------------------


@req("RT-KILL-04")
def test_kill_of_a_created_container(rt, make_bundle):
    b = make_bundle("sh", "-c", "echo ran >> /out")
    cid = created(rt, b)
    pid = rt.state(cid)["pid"]
    rt.cmd("kill", cid, "KILL", check=True)
    st = wait_status(rt, cid, "stopped")
    assert st["pid"] == 0
    wait_gone(pid)
    assert read(os.path.join(b.rootfs, "out")) is None    # the program never ran
    rt.cmd("delete", cid, check=True)
    assert rt.state(cid) is None


@req("RT-KILL-04")
def test_kill_delivers_the_named_signal(rt, make_bundle):
    # the trap runs when the foreground sleep returns: at most 0.1 s after the signal
    b = make_bundle("sh", "-c", "trap 'echo got-usr1 > /sig; exit 3' USR1; "
                                "echo ready > /ready; while :; do sleep 0.1; done")
    cid = running(rt, b)
    deadline = time.monotonic() + 10
    while read(os.path.join(b.rootfs, "ready")) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    rt.cmd("kill", cid, "USR1", check=True)
    wait_status(rt, cid, "stopped")
    assert read(os.path.join(b.rootfs, "sig")) == "got-usr1\n"


@req("RT-KILL-02", "RT-KILL-03")
def test_kill_of_a_stopped_container(rt, make_bundle):
    b = make_bundle("true")
    cid = stopped(rt, b)
    before = rt.state(cid)
    r = rt.cmd("kill", cid, "KILL")
    assert r.code != 0, r
    assert "container not running" in r.err
    after = rt.state(cid)
    assert after == before


# -- delete -------------------------------------------------------------------------------------


@req("RT-DEL-02", "RT-DEL-03")
def test_delete_of_a_running_container_without_force(rt, make_bundle):
    b = make_bundle("sleep", "30")
    cid = running(rt, b)
    pid = rt.state(cid)["pid"]
    r = rt.cmd("delete", cid)
    assert r.code != 0, r
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid and pid_alive(pid)
    rt.cmd("delete", "--force", cid, check=True)
    assert rt.state(cid) is None
    wait_gone(pid)


def test_delete_of_a_created_container_removes_it(rt, make_bundle):
    """runc's behaviour, not runtime.md's (which wants an error): ``delete`` without --force
    kills a *created* container's waiting process and removes the container.  pyrunc does the
    same for runc's clients (see RT-DEL-03 in requirements.tsv)."""
    b = make_bundle("sh", "-c", "echo ran >> /out")
    cid = created(rt, b)
    pid = rt.state(cid)["pid"]
    r = rt.cmd("delete", cid)
    assert r.code == 0, r
    assert rt.state(cid) is None and rt.ids() == []
    wait_gone(pid)
    assert read(os.path.join(b.rootfs, "out")) is None


@req("RT-DEL-04", "RT-LC-17")
def test_delete_removes_what_create_made(rt, make_bundle):
    b = make_bundle("sleep", "30")
    cid = new_id()
    cg = "/pyrunc-conf-%s" % cid
    b.config["linux"]["cgroupsPath"] = cg
    b.write()
    created(rt, b, cid)
    made = [d for d in cgroup_dirs(cg) if os.path.isdir(d)]
    assert made, "no cgroup was created at %s" % cg
    assert os.path.isdir(os.path.join(rt.root, cid))
    pid = rt.state(cid)["pid"]
    rt.cmd("start", cid, check=True)
    rt.cmd("kill", cid, "KILL", check=True)
    wait_status(rt, cid, "stopped")
    rt.cmd("delete", cid, check=True)
    assert rt.state(cid) is None
    wait_gone(pid)
    assert [d for d in made if os.path.exists(d)] == []
    assert not os.path.exists(os.path.join(rt.root, cid))


@req("RT-DEL-05")
def test_delete_keeps_what_it_did_not_create(rt, make_bundle, tmp_path):
    # a cgroup made by someone else, which the container's process was moved into, and a
    # host directory bind-mounted into the container: both survive delete
    foreign = os.path.join(pids_hierarchy(), "pyrunc-conf-foreign-%s" % uuid.uuid4().hex[:8])
    os.mkdir(foreign)
    try:
        src = tmp_path / "host-dir"
        src.mkdir()
        (src / "keep").write_text("mine\n")
        b = make_bundle("sh", "-c", "cat /data/keep > /dev/null")
        b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(src),
                                   "options": ["rbind", "ro"]})
        b.write()
        cid = created(rt, b)
        with open(os.path.join(foreign, "cgroup.procs"), "w") as f:
            f.write(str(rt.state(cid)["pid"]))
        rt.cmd("start", cid, check=True)
        wait_status(rt, cid, "stopped")
        rt.cmd("delete", cid, check=True)
        assert os.path.isdir(foreign)
        assert (src / "keep").read_text() == "mine\n"
    finally:
        deadline = time.monotonic() + 5
        while os.path.isdir(foreign):
            try:
                os.rmdir(foreign)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


# -- properties that cannot be applied ----------------------------------------------------------


def _ns_path_of_another_type(c, host):
    for ns in c["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "/proc/self/ns/uts"


def _apparmor(c, host):
    if os.path.exists("/sys/kernel/security/apparmor"):
        pytest.skip("AppArmor is enabled here: the profile could be applied")
    c["process"]["apparmorProfile"] = "pyrunc-conformance-profile"


def _selinux(c, host):
    if os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is enabled here")
    c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2"


def _intel_rdt(c, host):
    with open("/proc/self/mountinfo") as f:
        if any(" - resctrl " in line for line in f):
            pytest.skip("resctrl is mounted here")
    # a schema makes runc check for resctrl (with closID alone runc 1.1.5 also says nothing)
    c["linux"]["intelRdt"] = {"closID": "pyrunc-conformance", "l3CacheSchema": "L3:0=f"}


CANNOT_APPLY = {
    # (config change, pyrunc bug or None)
    "namespace-path-of-another-type": (_ns_path_of_another_type, None),
    "apparmor-profile-without-apparmor": (_apparmor, None),
    "selinux-label-without-selinux": (_selinux, None),
    "intel-rdt-without-resctrl": (_intel_rdt, None),
}


# (LNX-NS-05 and LNX-RDT-02 name their own parametrizations in requirements.tsv)
@req("RT-CREATE-07", "RT-CREATE-08", "RT-LC-02")
@pytest.mark.parametrize("case", list(CANNOT_APPLY))
def test_create_fails_when_a_property_cannot_be_applied(case, rt, make_bundle, request):
    change, bug = CANNOT_APPLY[case]
    if bug:
        deviation(request, "pyrunc", bug)
    b = make_bundle("sh", "-c", "echo ran >> /out")
    change(b.config, b)
    b.write()
    cid = new_id()
    r = rt.cmd("create", "--bundle", b.path, cid)
    assert r.code != 0, r
    assert rt.state(cid) is None and rt.ids() == []


@req("RT-START-05", "CFG-PROC-01")
def test_start_without_process_fails(rt, make_bundle, request):
    """runtime.md: start MUST fail when process is not set.  runc already refuses the create
    ("process property must not be empty"); either refusal is fine, a successful start is not."""
    b = make_bundle("true")
    del b.config["process"]
    b.write()
    cid = new_id()
    r = rt.cmd("create", "--bundle", b.path, cid)
    if r.code == 0:
        r = rt.cmd("start", cid)
    assert r.code != 0, r


# -- hooks: the lifecycle steps 3-13 ------------------------------------------------------------

LOG_HOOK = """#!/bin/sh
state=$(cat)
echo "$1 $(echo "$state" | tr -d '\\n')" >> %s
"""


def _hook_script(path, log):
    with open(path, "w") as f:
        f.write(LOG_HOOK % log)
    os.chmod(path, 0o755)
    return path


def _log(path):
    out = []
    for line in (read(path) or "").splitlines():
        name, _, state = line.partition(" ")
        out.append((name, json.loads(state)))
    return out


@req("RT-LC-06", "RT-LC-08", "RT-LC-10", "RT-LC-12", "RT-LC-15", "RT-LC-18", "CFG-HOOK-04",
     "CFG-HOOK-06", "CFG-HOOK-08", "CFG-HOOK-09", "CFG-HOOK-10", "CFG-HOOK-12", "CFG-HOOK-13",
     "CFG-HOOK-15", "CFG-HOOK-18", "CFG-HOOK-19", "CFG-HOOK-20", "CFG-HOOK-21")
def test_hooks_run_in_order_with_the_state(rt, make_bundle, tmp_path, request):
    deviation(request, "runc", "runc 1.1.5 runs poststart hooks at the end of create, before "
                               "start (container_linux.go start(): process.Init)")
    log = str(tmp_path / "hooks.log")
    host_hook = _hook_script(str(tmp_path / "hook.sh"), log)
    b = make_bundle("sh", "-c", "cat /start-hook.log > /seen-by-program")
    # startContainer's path resolves in the container: this script exists only in the rootfs
    _hook_script(os.path.join(b.rootfs, "bin", "in-rootfs-hook.sh"), "/start-hook.log")
    b.config["hooks"] = {
        k: [{"path": host_hook, "args": ["hook.sh", "%s-%d" % (k, i)]} for i in (1, 2)]
        for k in ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
    b.config["hooks"]["startContainer"] = [
        {"path": "/bin/in-rootfs-hook.sh", "args": ["hook.sh", "startContainer-%d" % i]}
        for i in (1, 2)]
    b.config["annotations"] = {"org.example.conformance": "hooks"}
    b.write()
    cid = created(rt, b)
    pid = rt.state(cid)["pid"]
    create_kinds = ["prestart", "createRuntime", "createContainer"]
    assert [n for n, _ in _log(log)] == ["%s-%d" % (k, i) for k in create_kinds
                                          for i in (1, 2)]
    rt.cmd("start", cid, check=True)
    # poststart ran before start returned
    assert [n for n, _ in _log(log)][6:] == ["poststart-1", "poststart-2"]
    wait_status(rt, cid, "stopped")
    rt.cmd("delete", cid, check=True)
    # poststop ran before delete returned
    entries = _log(log)
    assert [n for n, _ in entries][8:] == ["poststop-1", "poststop-2"]
    inside = [n for n, _ in _log(os.path.join(b.rootfs, "start-hook.log"))]
    assert inside == ["startContainer-1", "startContainer-2"]
    # ... before the user's program ran: it saw both lines
    assert len((read(os.path.join(b.rootfs, "seen-by-program")) or "").splitlines()) == 2
    for name, st in entries:
        assert st["id"] == cid and st["bundle"] == b.path, (name, st)
        assert st.get("annotations") == {"org.example.conformance": "hooks"}, (name, st)
    status = {n.rsplit("-", 1)[0]: st["status"] for n, st in entries}
    assert status["createRuntime"] == "creating"
    assert status["poststart"] == "running"
    assert status["poststop"] == "stopped"
    assert [st["pid"] for n, st in entries if n.startswith(("createRuntime", "poststart"))] \
        == [pid] * 4


@req("RT-LC-07", "RT-LC-09", "RT-LC-11", "RT-ERR-01")
@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_a_failing_create_hook_fails_create_and_leaves_nothing(kind, rt, make_bundle):
    b = make_bundle("sh", "-c", "echo ran >> /out")
    cid = new_id()
    cg = "/pyrunc-conf-%s" % cid
    b.config["linux"]["cgroupsPath"] = cg
    b.config["hooks"] = {kind: [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}
    b.write()
    r = rt.cmd("create", "--bundle", b.path, cid)
    assert r.code != 0, r
    assert rt.state(cid) is None and rt.ids() == []
    assert [d for d in cgroup_dirs(cg) if os.path.exists(d)] == []
    time.sleep(0.2)
    assert processes_in(b.rootfs) == []
    assert read(os.path.join(b.rootfs, "out")) is None


@req("RT-LC-13")
def test_a_failing_start_container_hook_fails_start(rt, make_bundle, request):
    deviation(request, "runc", "runc 1.1.5 runs startContainer hooks in 'runc init' after "
                               "'runc start' has returned 0 (standard_init_linux.go)")
    b = make_bundle("sh", "-c", "echo ran >> /out")
    b.config["hooks"] = {"startContainer": [{"path": "/bin/false", "args": ["false"]}]}
    b.write()
    cid = created(rt, b)
    r = rt.cmd("start", cid)
    assert r.code != 0, r
    time.sleep(0.3)
    assert read(os.path.join(b.rootfs, "out")) is None
    st = rt.state(cid)
    assert st is None or st["status"] == "stopped"


@req("RT-LC-16", "RT-LC-19", "RT-WARN-01")
def test_failing_poststart_and_poststop_hooks_are_only_warnings(rt, make_bundle, tmp_path,
                                                               request):
    deviation(request, "runc", "runc 1.1.5 stops at the first failing poststart hook and "
                               "fails start (container_linux.go), same for poststop and delete")
    log = str(tmp_path / "hooks.log")
    ok_hook = _hook_script(str(tmp_path / "hook.sh"), log)
    b = make_bundle("sleep", "30")
    b.config["hooks"] = {
        k: [{"path": "/bin/false", "args": ["false"]},
            {"path": ok_hook, "args": ["hook.sh", k]}] for k in ("poststart", "poststop")}
    b.write()
    cid = created(rt, b)
    r = rt.cmd("start", cid)
    assert r.code == 0, r
    assert rt.state(cid)["status"] == "running"
    rt.cmd("kill", cid, "KILL", check=True)
    wait_status(rt, cid, "stopped")
    r = rt.cmd("delete", cid)
    assert r.code == 0, r
    assert rt.state(cid) is None
    assert [n for n, _ in _log(log)] == ["poststart", "poststop"]
