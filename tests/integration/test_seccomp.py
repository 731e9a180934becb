"""linux.seccomp in real containers, most of it compared with runc on the same bundle.

Profiles: podman's default (containers-common's /usr/share/containers/seccomp.json, turned
into the OCI form the way podman does), and the profiles podman and docker actually sent
(/work/shared/reference/clients). Busybox runs normally under them, with and without
noNewPrivileges; denied syscalls fail with the profile's errno; KILL/TRAP kill; argument
conditions hold; NOTIFY hands the listener to a seccomp agent (seccomp_agent.py).
"""

import ctypes
import json
import os
import platform
import subprocess
import sys

import pytest

from pyrunc.seccomp import bpf
from tests.helpers import SHARED, REPO, new_id

CLIENTS = os.path.join(SHARED, "reference", "clients")
CONTAINERS_PROFILE = "/usr/share/containers/seccomp.json"
AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seccomp_agent.py")
SIGSYS_STATUS = 128 + 31

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64",
                                reason="profiles and syscall numbers are x86_64's")


# -- profiles ----------------------------------------------------------------------------------

def client_profile(name):
    with open(os.path.join(CLIENTS, "%s-config.json" % name)) as f:
        return json.load(f)["linux"]["seccomp"]


def _kernel():
    return tuple(int(x) for x in platform.release().split("-")[0].split(".")[:2])


def podman_default_profile(caps):
    """containers/common's seccomp.json as podman puts it in config.json on x86_64: the
    native arch with its sub-arches, the syscall groups whose includes/excludes (arch,
    capabilities, minimal kernel) match the container."""
    if not os.path.exists(CONTAINERS_PROFILE):
        pytest.fail("%s is missing: apt-get install golang-github-containers-common "
                    "(scripts/setup.sh)" % CONTAINERS_PROFILE)
    with open(CONTAINERS_PROFILE) as f:
        src = json.load(f)
    arch, goarch = "SCMP_ARCH_X86_64", "amd64"
    out = {"defaultAction": src["defaultAction"]}
    if "defaultErrnoRet" in src:
        out["defaultErrnoRet"] = src["defaultErrnoRet"]
    for m in src.get("archMap") or ():
        if m["architecture"] == arch:
            out["architectures"] = [arch] + m.get("subArchitectures", [])
    syscalls = []
    for call in src["syscalls"]:
        inc, exc = call.get("includes") or {}, call.get("excludes") or {}
        if goarch in (exc.get("arches") or ()):
            continue
        if any(c in caps for c in exc.get("caps") or ()):
            continue
        if inc.get("arches") and goarch not in inc["arches"]:
            continue
        if any(c not in caps for c in inc.get("caps") or ()):
            continue
        mk = inc.get("minKernel")
        if mk and _kernel() < tuple(int(x) for x in mk.split(".")[:2]):
            continue
        rule = {"names": call["names"], "action": call["action"]}
        for k in ("errnoRet", "args"):
            if call.get(k):
                rule[k] = call[k]
        syscalls.append(rule)
    out["syscalls"] = syscalls
    return out


def allow_list(sc):
    return [n for c in sc["syscalls"] if c["action"] == "SCMP_ACT_ALLOW" and not c.get("args")
            for n in c["names"]]


PROFILES = ["podman-default", "podman-config", "docker-config"]


def profile(name, config):
    if name == "podman-default":
        return podman_default_profile(config["process"]["capabilities"]["bounding"])
    return client_profile(name[:-len("-config")])


# -- running -------------------------------------------------------------------------------

def seccomp_bundle(make_bundle, sc, *args, nnp=True):
    b = make_bundle(*args)
    b.config["linux"]["seccomp"] = sc
    b.config["process"]["noNewPrivileges"] = nnp
    return b.write()


def run_both(pyrunc, runc, b, tmp_path, timeout=60):
    """The same bundle (a copy for runc) under both runtimes: (pyrunc result, runc result)."""
    rb = b.clone(str(tmp_path / ("runc-%s" % new_id())))
    return pyrunc.run(b, timeout=timeout), runc.run(rb, timeout=timeout)


def same(p, r):
    assert p.code == r.code, (p, r)
    assert p.out == r.out, (p, r)
    return p


# -- profiles run busybox normally ----------------------------------------------------------

BUSYBOX_WORK = ("grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; echo hi | tr a-z A-Z; "
                "ls / >/dev/null && mkdir -p /tmp/d/e && touch /tmp/d/f && ls /tmp/d; "
                "ps -o pid,comm | wc -l >/dev/null; date +%Y >/dev/null; id -u; "
                "(sleep 0.1 & wait) && echo waited; linux32 uname -m; uname -m")


@pytest.mark.runc
@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
@pytest.mark.parametrize("name", PROFILES)
def test_profiles_run_busybox(pyrunc, runc, make_bundle, tmp_path, name, nnp):
    b = make_bundle("sh", "-c", BUSYBOX_WORK)
    b = seccomp_bundle(make_bundle, profile(name, b.config), "sh", "-c", BUSYBOX_WORK, nnp=nnp)
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.code == 0, p
    assert p.out.split("\n") == ["NoNewPrivs:\t%d" % nnp, "Seccomp:\t2", "HI", "e", "f", "0",
                                 "waited", "i686", "x86_64", ""]


# -- denied syscalls -----------------------------------------------------------------------

DENIED = ("unshare -m true; hostname blocked; swapoff /dev/null; mount -t tmpfs t /mnt; "
          "nsenter -t 1 -n true; echo end")


@pytest.mark.runc
@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_docker_profile_denies_with_eperm(pyrunc, runc, make_bundle, tmp_path, nnp):
    b = seccomp_bundle(make_bundle, client_profile("docker"), "sh", "-c", DENIED, nnp=nnp)
    # with CAP_SYS_ADMIN, only the profile stands between the container and these calls
    for k in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][k].append("CAP_SYS_ADMIN")
    b.write()
    p, r = run_both(pyrunc, runc, b, tmp_path)
    assert p.code == r.code == 0 and p.out == r.out == "end\n"
    assert p.err == r.err
    for line in ("unshare: unshare(0x20000): Operation not permitted",
                 "hostname: sethostname: Operation not permitted",
                 "swapoff: /dev/null: Operation not permitted",
                 "mount: permission denied (are you root?)",
                 "nsenter: setns(): can't reassociate to namespace 'net': "
                 "Operation not permitted"):
        assert line in p.err, p.err


@pytest.mark.runc
def test_podman_default_profile_denies(pyrunc, runc, make_bundle, tmp_path):
    script = "swapoff /dev/null; hostname x; unshare -m true; echo end"
    b = make_bundle("true")
    sc = podman_default_profile(b.config["process"]["capabilities"]["bounding"])
    b = seccomp_bundle(make_bundle, sc, "sh", "-c", script)
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.err == r.err
    # both listed with errnoRet 1 for a container without CAP_SYS_ADMIN
    assert "swapoff: /dev/null: Operation not permitted" in p.err
    assert "hostname: sethostname: Operation not permitted" in p.err
    # unshare is allowed by the profile: the missing capability refuses it
    assert "unshare: unshare(0x20000): Operation not permitted" in p.err


@pytest.mark.runc
@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_errno_ret_and_default_errno_ret(pyrunc, runc, make_bundle, tmp_path, nnp):
    base = client_profile("podman")
    allowed = [n for n in allow_list(base) if n not in ("mkdir", "mkdirat", "rmdir")]
    sc = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 95,
          "architectures": base["architectures"],
          "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"},
                       {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                        "errnoRet": 99}]}
    script = "mkdir /tmp/x; rmdir /tmp; echo end"
    b = seccomp_bundle(make_bundle, sc, "sh", "-c", script, nnp=nnp)
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.err == r.err
    assert "mkdir: can't create directory '/tmp/x': Cannot assign requested address" in p.err
    assert "rmdir: '/tmp': Operation not supported" in p.err


@pytest.mark.runc
@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
def test_kill_and_trap_actions(pyrunc, runc, make_bundle, tmp_path, action):
    sc = {"defaultAction": "SCMP_ACT_ALLOW",
          "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action}]}
    b = seccomp_bundle(make_bundle, sc, "sh", "-c", "mkdir /tmp/x; echo status=$?")
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.out == "status=%d\n" % SIGSYS_STATUS
    # the container's own process killed: run reports it like a signal death
    b2 = seccomp_bundle(make_bundle, sc, "mkdir", "/tmp/y")
    p, r = run_both(pyrunc, runc, b2, tmp_path)
    assert p.code == r.code == SIGSYS_STATUS, (p, r)


@pytest.mark.runc
def test_log_trace_allow_actions(pyrunc, runc, make_bundle, tmp_path):
    sc = {"defaultAction": "SCMP_ACT_ALLOW",
          "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"},
                       {"names": ["rmdir"], "action": "SCMP_ACT_TRACE"}]}
    b = seccomp_bundle(make_bundle, sc, "sh", "-c",
                       "mkdir /tmp/x && echo made; rmdir /tmp/x; echo end")
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.out == "made\nend\n"
    # TRACE without a tracer: the kernel fails the call with ENOSYS
    assert "rmdir: '/tmp/x': Function not implemented" in p.err


# -- argument conditions --------------------------------------------------------------------

@pytest.mark.runc
@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_arg_conditions(pyrunc, runc, make_bundle, tmp_path, nnp):
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        # personality(PER_LINUX32) refused, personality(PER_LINUX) allowed
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42,
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        # no setuid bit: chmod(path, mode) and fchmodat(dirfd, path, mode)
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 1, "value": 0o4000, "valueTwo": 0o4000,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 2, "value": 0o4000, "valueTwo": 0o4000,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
    ]}
    script = ("linux64 true && echo linux64; linux32 true && echo linux32; touch /tmp/f; "
              "chmod 755 /tmp/f && echo 755; chmod 4755 /tmp/f && echo 4755; "
              "stat -c %a /tmp/f")
    b = seccomp_bundle(make_bundle, sc, "sh", "-c", script, nnp=nnp)
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.out == "linux64\n755\n755\n"
    assert "No message of desired type" in p.err            # errno 42
    assert "chmod: /tmp/f: Operation not permitted" in p.err


@pytest.mark.runc
def test_conditions_on_one_index_are_ored(pyrunc, runc, make_bundle, tmp_path):
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}
    b = seccomp_bundle(make_bundle, sc, "sh", "-c",
                       "linux64 true && echo linux64; linux32 true && echo linux32; echo end")
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.out == "end\n"


# -- architectures ---------------------------------------------------------------------------

@pytest.mark.runc
def test_profile_for_another_architecture_only(pyrunc, runc, make_bundle, tmp_path):
    # libseccomp always keeps the native arch: the rules still apply to x86_64 (runc too)
    sc = dict(client_profile("docker"), architectures=["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
    b = seccomp_bundle(make_bundle, sc, "sh", "-c",
                       "unshare -m true; grep Seccomp: /proc/self/status; echo end")
    p, r = run_both(pyrunc, runc, b, tmp_path)
    same(p, r)
    assert p.out == "Seccomp:\t2\nend\n"
    assert "Operation not permitted" in p.err


@pytest.mark.runc
def test_architecture_of_the_other_byte_order_is_an_error(pyrunc, runc, make_bundle,
                                                         tmp_path):
    sc = dict(client_profile("docker"), architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_S390X"])
    b = seccomp_bundle(make_bundle, sc, "true")
    p, r = run_both(pyrunc, runc, b, tmp_path)
    assert p.code != 0 and r.code != 0, (p, r)
    assert "linux.seccomp.architectures[1]: cannot add SCMP_ARCH_S390X to the filter" in p.err
    assert p.err.count("\n") == 1
    assert pyrunc.ids() == []


# -- the loaded program is runc's -------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SECCOMP_GET_FILTER = 16, 17, 0x420C


def loaded_filters(pid):
    """The seccomp programs of a process, newest first (PTRACE_SECCOMP_GET_FILTER)."""
    if _libc.ptrace(PTRACE_ATTACH, pid, None, None) < 0:
        raise OSError(ctypes.get_errno(), "ptrace attach %d" % pid)
    try:
        os.waitpid(pid, 0x40000000)  # __WALL
        progs = []
        while True:
            n = _libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, len(progs), None)
            if n < 0:
                return progs
            buf = ctypes.create_string_buffer(n * 8)
            _libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, len(progs), buf)
            progs.append(bpf.decode(buf.raw))
    finally:
        _libc.ptrace(PTRACE_DETACH, pid, None, None)


def _verdicts(prog, extra_values):
    """The program's answer for every syscall number of x86_64, x32 and i386 (and another
    arch), with arguments that exercise the profiles' conditions."""
    values = sorted({0, 1, 8, 17, 0x20000, 0x20008, 0xFFFFFFFF, 0x7E020000, 0x20011}
                    | set(extra_values))
    out = {}
    for arch, nrs in ((0xC000003E, range(0, 520)), (0xC000003E, range(0x40000000, 0x40000240)),
                      (0x40000003, range(0, 520)), (0xC00000B7, range(0, 4))):
        for nr in nrs:
            for v in values:
                out[arch, nr, v] = bpf.run(prog, bpf.seccomp_data(nr, arch, [v] * 6))
    return out


def _detached_pid(rt, b):
    cid = new_id()
    rt.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    return cid, rt.state(cid)["pid"]


@pytest.mark.runc
@pytest.mark.parametrize("name", PROFILES)
def test_loaded_filter_behaves_like_runcs(pyrunc, runc, make_bundle, tmp_path, name):
    b = make_bundle("sleep", "60")
    sc = profile(name, b.config)
    b = seccomp_bundle(make_bundle, sc, "sleep", "60")
    rb = b.clone(str(tmp_path / "runc-bundle"))
    pcid, ppid = _detached_pid(pyrunc, b)
    rcid, rpid = _detached_pid(runc, rb)
    pf, rf = loaded_filters(ppid), loaded_filters(rpid)
    assert len(pf) == len(rf) == 1
    values = [a.get(k, 0) for c in sc["syscalls"] for a in c.get("args") or ()
              for k in ("value", "valueTwo")]
    mine, theirs = _verdicts(pf[0], values), _verdicts(rf[0], values)
    # runc 1.1.5 links an older libseccomp: it cannot name syscalls added since, and gives
    # them its own -ENOSYS; those are the only differences allowed
    newer = {k for k in mine if mine[k] != theirs[k]}
    assert all(theirs[k] == 0x50026 for k in newer), sorted(newer)[:10]
    assert len(newer) <= 3 * 9 * 2, sorted(newer)[:10]
    for rt, cid in ((pyrunc, pcid), (runc, rcid)):
        rt.cmd("kill", cid, "KILL")


# -- notify ----------------------------------------------------------------------------------

class Agent:
    def __init__(self, tmp_path, errno=0):
        self.sock = str(tmp_path / ("agent-%s.sock" % new_id()))
        self.out = str(tmp_path / ("agent-%s.out" % new_id()))
        argv = [sys.executable, AGENT, self.sock, self.out] + ([str(errno)] if errno else [])
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline() == "ready\n"

    def records(self, timeout=10):
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.stop()
        with open(self.out) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def agents():
    made = []
    yield made
    for a in made:
        a.stop()


def notify_profile(agent, **kw):
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": agent.sock,
          "listenerMetadata": "some-metadata",
          "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    sc.update(kw)
    return sc


NOTIFY_SCRIPT = "mkdir /tmp/notified && echo made; ls -d /tmp/notified; touch /tmp/f && echo t"


@pytest.mark.runc
@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_notify_agent_fakes_mkdir(pyrunc, runc, make_bundle, tmp_path, agents, nnp):
    results = {}
    for name, rt in (("pyrunc", pyrunc), ("runc", runc)):
        agent = Agent(tmp_path)
        agents.append(agent)
        b = seccomp_bundle(make_bundle, notify_profile(agent), "sh", "-c", NOTIFY_SCRIPT,
                           nnp=nnp)
        b.config["annotations"] = {"org.example/key": "value"}
        b.write()
        cid = new_id()
        res = rt.run(b, cid=cid, timeout=30)
        results[name] = (res, agent.records(), cid, b)
    p, r = results["pyrunc"][0], results["runc"][0]
    same(p, r)
    # the agent answered mkdir with success without making anything
    assert p.out == "made\nt\n"
    assert "ls: /tmp/notified: No such file or directory" in p.err
    for name, (res, recs, cid, b) in results.items():
        first = recs[0]
        assert first["nfds"] == 1
        st = first["state"]
        assert st["fds"] == ["seccompFd"] and st["metadata"] == "some-metadata"
        assert st["state"]["id"] == cid and st["state"]["status"] == "creating"
        assert st["state"]["bundle"] == b.path
        assert st["state"]["annotations"] == {"org.example/key": "value"}
        assert st["pid"] == st["state"]["pid"] and st["pid"] > 1
        notes = [x for x in recs if "nr" in x]
        assert [x["nr"] for x in notes] == [83], (name, recs)   # mkdir, once
        assert notes[0]["pid"] != st["pid"]  # sh's child, seen by its host pid
        assert recs[-1] == {"done": True}
    assert set(results["pyrunc"][1][0]["state"]) == set(results["runc"][1][0]["state"])


def test_notify_agent_returns_errno(pyrunc, make_bundle, tmp_path, agents):
    agent = Agent(tmp_path, errno=18)
    agents.append(agent)
    b = seccomp_bundle(make_bundle, notify_profile(
        agent, flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"]),
        "sh", "-c", "mkdir /tmp/x; echo end")
    r = pyrunc.run(b, timeout=30)
    assert r.code == 0 and r.out == "end\n", r
    assert "mkdir: can't create directory '/tmp/x': Invalid cross-device link" in r.err
    assert agent.records()[-1] == {"done": True}


def test_notify_state_pid_is_the_host_pid(pyrunc, make_bundle, tmp_path, agents):
    agent = Agent(tmp_path)
    agents.append(agent)
    b = seccomp_bundle(make_bundle, notify_profile(agent), "sleep", "30", nnp=False)
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, cid, check=True)
    pid = pyrunc.state(cid)["pid"]
    pyrunc.cmd("kill", cid, "KILL", check=True)
    st = agent.records()[0]["state"]
    assert st["pid"] == pid and st["state"]["pid"] == pid


def test_notify_agent_absent_fails_create(pyrunc, make_bundle, tmp_path):
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(tmp_path / "nobody.sock"),
          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    b = seccomp_bundle(make_bundle, sc, "true")
    r = pyrunc.run(b)
    assert r.code != 0
    assert ("linux.seccomp.listenerPath: cannot connect to the seccomp agent at %s: "
            "No such file or directory" % sc["listenerPath"]) in r.err
    assert pyrunc.ids() == []


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_notify_agent_gone_fails_cleanly(pyrunc, make_bundle, tmp_path, nnp):
    import socket
    import threading
    path = str(tmp_path / "rude.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def rude():  # accept, then hang up before the runtime sends anything
        conn, _ = srv.accept()
        conn.close()
    t = threading.Thread(target=rude, daemon=True)
    t.start()
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    b = seccomp_bundle(make_bundle, sc, "true", nnp=nnp)
    cid = new_id()
    r = pyrunc.cmd("create", "--bundle", b.path, cid)
    t.join(10)
    srv.close()
    if nnp:  # the filter is loaded at start, just before execve
        assert r.code == 0, r
        r = pyrunc.cmd("start", cid)
    else:
        assert pyrunc.ids() == []  # create failed and left nothing
    assert r.code != 0
    assert "linux.seccomp.listenerPath: cannot send the seccomp fd to %s: Broken pipe" % path \
        in r.err, r
    assert r.err.count("\n") == 1


def test_notify_on_sendmsg_is_refused(pyrunc, make_bundle, tmp_path):
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(tmp_path / "a.sock"),
          "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}
    r = pyrunc.run(seccomp_bundle(make_bundle, sc, "true"))
    assert r.code != 0 and "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY cannot be " \
        "used for sendmsg" in r.err


# -- misc ------------------------------------------------------------------------------------

def test_unknown_syscall_names_are_skipped_quietly(pyrunc, make_bundle, tmp_path):
    sc = client_profile("docker")
    sc["syscalls"].append({"names": ["no_such_syscall_xyz"], "action": "SCMP_ACT_ALLOW"})
    b = seccomp_bundle(make_bundle, sc, "sh", "-c", "echo ok")
    logf = tmp_path / "log.json"
    r = pyrunc.cmd("--log", str(logf), "--log-format", "json", "run", "--bundle", b.path,
                   new_id())
    assert r.code == 0 and r.out == "ok\n", r
    # podman decodes the whole --log file as one JSON object: nothing may be written
    assert not logf.exists() or logf.read_text() == ""
    r = pyrunc.cmd("--debug", "--log", str(logf), "run", "--bundle", b.path, new_id())
    assert "unknown syscall 'no_such_syscall_xyz' ignored" in logf.read_text()


def test_flags(pyrunc, make_bundle):
    sc = dict(client_profile("docker"), flags=["SECCOMP_FILTER_FLAG_LOG",
                                                "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                                "SECCOMP_FILTER_FLAG_TSYNC"])
    r = pyrunc.run(seccomp_bundle(make_bundle, sc, "sh", "-c", "unshare -m true; echo end"))
    assert r.code == 0 and r.out == "end\n" and "Operation not permitted" in r.err


@pytest.mark.runc
def test_exec_gets_the_filter(pyrunc, runc, make_bundle, tmp_path):
    b = seccomp_bundle(make_bundle, client_profile("docker"), "sleep", "60")
    rb = b.clone(str(tmp_path / "runc-bundle"))
    out = {}
    for rt, bb in ((pyrunc, b), (runc, rb)):
        cid, _ = _detached_pid(rt, bb)
        out[rt.name] = rt.cmd("exec", cid, "sh", "-c",
                              "grep Seccomp: /proc/self/status; unshare -m true; echo end")
        rt.cmd("kill", cid, "KILL")
    same(out["pyrunc"], out["runc"])
    assert out["pyrunc"].out == "Seccomp:\t2\nend\n"
    assert "unshare: unshare(0x20000): Operation not permitted" in out["pyrunc"].err


def test_seccomp_not_imported_without_a_profile():
    code = ("import sys; import pyrunc.cli, pyrunc.container.lifecycle, pyrunc.process.init, "
            "pyrunc.process.finalize, pyrunc.process.exec_init; "
            "print('pyrunc.seccomp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout == "False\n"


def test_compile_and_load_cost(make_bundle):
    """compile + load of podman's default profile, measured in a throwaway child."""
    b = make_bundle("true")
    sc = podman_default_profile(b.config["process"]["capabilities"]["bounding"])
    code = (
        "import json, sys, time, os\n"
        "t0 = time.perf_counter()\n"
        "from pyrunc import seccomp\n"
        "f = seccomp.compile_filter(json.loads(sys.stdin.read()))\n"
        "t1 = time.perf_counter()\n"
        "from pyrunc.linux import libc\n"
        "libc.prctl(38, 1)\n"
        "f.load()\n"
        "t2 = time.perf_counter()\n"
        "print('%.2f %.2f %d' % ((t1 - t0) * 1e3, (t2 - t1) * 1e3, len(f)))\n")
    cp = subprocess.run([sys.executable, "-c", code], input=json.dumps(sc), text=True,
                        capture_output=True, cwd=REPO)
    assert cp.returncode == 0, cp.stderr
    compile_ms, load_ms, n = cp.stdout.split()
    print("podman default profile: compile %s ms, load %s ms, %s instructions" % (
        compile_ms, load_ms, n))
    assert float(compile_ms) < 500 and float(load_ms) < 50


def test_compiled_profile_is_cached_for_create_and_exec(pyrunc, make_bundle):
    """The program libseccomp exported for a profile is kept under --root (seccomp/cache.py):
    the second create and an exec load it instead of compiling, and enforce the same."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    b = make_bundle("sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?")
    b.config["linux"]["seccomp"] = profile
    b.write()
    cache_dir = os.path.join(pyrunc.root, "@seccomp-cache")
    outs = []
    for _ in range(2):
        r = pyrunc.run(b)
        assert r.code == 0, r
        outs.append(r.out)
        (entry,) = os.listdir(cache_dir)
        if len(outs) == 1:
            first = os.stat(os.path.join(cache_dir, entry))
    again = os.stat(os.path.join(cache_dir, entry))
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert all(o.endswith("rc=1\n") and "Operation not permitted" in o for o in outs), outs
    assert pyrunc.ids() == [], "the cache is not a container"
    # exec into a container of the same profile: the cached program, the same refusal
    b.config["process"]["args"] = ["sleep", "1000"]
    b.write()
    cid = new_id()
    pyrunc.cmd("run", "-d", "--bundle", b.path, cid, check=True)
    r = pyrunc.cmd("exec", cid, "sh", "-c", "mkdir /tmp/y; echo rc=$?")
    assert r.out.endswith("rc=1\n"), r
    # a damaged entry is compiled again, never trusted
    with open(os.path.join(cache_dir, entry), "w") as f:
        f.write('{"program": "not hex"}')
    r = pyrunc.cmd("exec", cid, "sh", "-c", "mkdir /tmp/y; echo rc=$?")
    assert r.out.endswith("rc=1\n"), r
    pyrunc.cmd("delete", "-f", cid, check=True)
