"""Compiled profiles, checked without the kernel: the real libseccomp builds the program
(no filter is loaded), and pyrunc.seccomp.bpf runs it on seccomp_data like the kernel would.

Covers the podman and docker profiles the clients send, every comparison operator against
its definition, the -ENOSYS stub (runc's patchbpf port), and the generated cffi module.
"""

import json
import os
import platform

import pytest

from pyrunc.seccomp import bpf, compile_filter, consts as K, enosys
from pyrunc.seccomp._lib import Libseccomp
from tests.helpers import SHARED

CLIENTS = os.path.join(SHARED, "reference", "clients")
pytestmark = pytest.mark.skipif(platform.machine() != "x86_64",
                                reason="syscall numbers below are x86_64's")

X86_64, X86, X32, AARCH64 = 0xC000003E, 0x40000003, 0x4000003E, 0xC00000B7
NR = {"read": 0, "clone": 56, "personality": 135, "swapoff": 168, "unshare": 272,
      "userfaultfd": 323, "clone3": 435, "mkdir": 83, "keyctl": 250}
ALLOW, KILL = K.ACT_ALLOW, K.ACT_KILL_THREAD


def errno(e):
    return K.act_errno(e)


def client_profile(name):
    with open(os.path.join(CLIENTS, "%s-config.json" % name)) as f:
        return json.load(f)["linux"]["seccomp"]


class Prog:
    def __init__(self, sc):
        self.filt = compile_filter(sc)
        self.insns = bpf.decode(self.filt.program)

    def __call__(self, nr, *args, arch=X86_64):
        if isinstance(nr, str):
            nr = NR[nr]
        return bpf.run(self.insns, bpf.seccomp_data(nr, arch, args))


@pytest.fixture(scope="module")
def podman():
    return Prog(client_profile("podman"))


@pytest.fixture(scope="module")
def docker():
    return Prog(client_profile("docker"))


def test_podman_profile(podman):
    assert podman("read") == ALLOW
    assert podman("unshare") == ALLOW and podman("keyctl") == ALLOW  # caps decide these
    assert podman("swapoff") == errno(1)             # listed with errnoRet 1
    assert podman("userfaultfd") == errno(1)
    assert podman(248) == errno(38)                  # add_key, not listed: defaultErrnoRet
    assert podman(1000) == errno(38)
    for persona in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF):
        assert podman("personality", persona) == ALLOW
    assert podman("personality", 0x40000) == errno(38)
    assert podman(3, arch=X86) == ALLOW              # i386 read: the profile's other arches
    assert podman(0x40000000, arch=X86_64) == ALLOW  # x32 read
    assert podman(63, arch=AARCH64) == KILL          # not in architectures: libseccomp's
    assert podman.filt.flags == K.FLAG_SPEC_ALLOW    # default bad-arch action


def test_docker_profile(docker):
    assert docker("read") == ALLOW
    assert docker("unshare") == errno(1) and docker("keyctl") == errno(1)
    assert docker("clone", 17) == ALLOW                       # fork()
    assert docker("clone", 0x20000 | 17) == errno(1)          # CLONE_NEWNS: MASKED_EQ fails
    assert docker("clone3") == errno(38)                      # explicit errnoRet
    assert docker("personality", 0x40000) == errno(1)


def test_enosys_stub_for_syscalls_newer_than_the_profile(docker):
    # docker's profile knows nothing above futex_waitv (449): later numbers get ENOSYS,
    # while unlisted older ones get the default EPERM
    assert docker(449) == ALLOW
    assert docker(450) == errno(38) and docker(1000) == errno(38)
    assert docker("swapoff") == errno(1) and docker(248) == errno(1)
    assert docker(500, arch=X86) == errno(38)
    assert docker(0x40000000 | 1000) == errno(38)   # x32
    assert docker(0x40000000 | 0) == ALLOW


def test_no_stub_when_default_already_enosys_or_allows(monkeypatch):
    def no_stub(last):
        raise AssertionError("no stub expected")
    base = [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
    for sc in ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": base},
               {"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]},
               {"defaultAction": "SCMP_ACT_LOG",
                "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]},
               {"defaultAction": "SCMP_ACT_TRACE", "syscalls": base}):
        with monkeypatch.context() as m:
            m.setattr(enosys, "stub", no_stub)
            Prog(sc)
    p = Prog({"defaultAction": "SCMP_ACT_KILL_PROCESS",
              "syscalls": [{"names": ["read", "mkdir"], "action": "SCMP_ACT_ALLOW"}]})
    assert p(0) == ALLOW and p(83) == ALLOW
    assert p(1) == K.ACT_KILL_PROCESS and p(84) == errno(38) and p(1000) == errno(38)


def test_stub_on_every_architecture():
    lib = Libseccomp()
    # libseccomp cannot mix byte orders: every little-endian arch it knows
    arches = [a for a in ("X86_64", "X86", "X32", "ARM", "AARCH64", "MIPSEL", "MIPSEL64",
                          "MIPSEL64N32", "PPC64LE", "RISCV64") if lib.resolve_arch(a.lower())]
    sc = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_" + a for a in arches],
          "syscalls": [{"names": ["read", "write", "close", "futex_waitv"],
                        "action": "SCMP_ACT_ALLOW"}]}
    p = Prog(sc)
    for a in arches:
        token = lib.resolve_arch(a.lower())
        audit = enosys.audit_arch(token)
        read = lib.resolve_syscall_arch(token, "read")
        last = lib.resolve_syscall_arch(token, "futex_waitv")
        assert p(read, arch=audit) == ALLOW, a
        assert p(last + 1, arch=audit) == errno(38), a
        if a not in ("S390", "S390X"):
            assert p(read + 1000 if a != "X32" else last + 1000, arch=audit) == errno(38), a
    assert p(0, arch=0x12345678) == KILL


def test_stub_long_jumps():
    # many arches push the jumps past 255 instructions only in theory; force the long forms
    last = {X86_64: {enosys.ARCH_X86_64: 400, enosys.ARCH_X32: 0x40000000 | 500}}
    prog = enosys.stub(last) + [(K.BPF_RET_K, 0, 0, ALLOW)]
    run = lambda nr: bpf.run(prog, bpf.seccomp_data(nr, X86_64))  # noqa: E731
    assert run(400) == ALLOW and run(401) == errno(38)
    assert run(0x40000000 | 500) == ALLOW and run(0x40000000 | 501) == errno(38)
    pad = [(K.BPF_JMP_JA, 0, 0, 0)] * 300
    insns = enosys.stub(last)  # same semantics whatever the filter after it
    assert bpf.run(insns + pad + [(K.BPF_RET_K, 0, 0, ALLOW)],
                   bpf.seccomp_data(1, X86_64)) == ALLOW


def _holds(op, a, v, v2):
    return {"SCMP_CMP_NE": a != v, "SCMP_CMP_LT": a < v, "SCMP_CMP_LE": a <= v,
            "SCMP_CMP_EQ": a == v, "SCMP_CMP_GE": a >= v, "SCMP_CMP_GT": a > v,
            "SCMP_CMP_MASKED_EQ": a & v == v2}[op]


@pytest.mark.parametrize("op", sorted(K.OPS))
@pytest.mark.parametrize("v,v2", [(0x30, 0x10), (0x1_0000_0005, 0x1_0000_0000),
                                  (0xFFFFFFFF, 0xF)])
def test_operators_match_their_definition(op, v, v2):
    p = Prog({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
        "args": [{"index": 2, "value": v, "valueTwo": v2, "op": op}]}]})
    for a in {0, 1, 0x10, v - 1, v, v + 1, v2, v | v2, 0xFFFFFFFF, 1 << 32, (1 << 32) | v,
              (1 << 64) - 1}:
        want = errno(77) if _holds(op, a, v, v2) else ALLOW
        assert p("personality", 0, 0, a) == want, (op, hex(a))


def test_same_index_conditions_are_ored_distinct_ones_anded():
    same = Prog({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["personality"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                 {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]})
    assert same("personality", 8) == errno(1) and same("personality", 0) == errno(1)
    assert same("personality", 5) == ALLOW
    distinct = Prog({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{
        "names": ["personality"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                 {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}]})
    assert distinct("personality", 8, 1) == errno(1)
    assert distinct("personality", 8, 0) == ALLOW and distinct("personality", 0, 1) == ALLOW


def test_ffi_module_is_up_to_date(tmp_path):
    from pyrunc.seccomp import _ffi_build
    code = _ffi_build.build(str(tmp_path))
    with open(os.path.join(os.path.dirname(_ffi_build.__file__), "_seccomp_ffi.py")) as f:
        committed = f.read()
    assert committed.split("\n", 1)[1] == code


def test_debug_tool(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"linux": {"seccomp": client_profile("docker")}}))
    assert bpf._main([str(path), "unshare"]) == 0
    assert bpf._main([str(path), "clone", "17"]) == 0
    assert capsys.readouterr().out == "SCMP_ACT_ERRNO(1)\nSCMP_ACT_ALLOW\n"
