"""linux.seccomp -> libseccomp calls, with a fake libseccomp (no library, no kernel).

The fake records what compile_filter asks of libseccomp, so these tests pin down runc's
translation rules: actions and errno codes, one rule per name, rules equal to the default
skipped, unknown names skipped, argument conditions (ANDed, or split when two share an
index), the optimisation threshold, flags, architectures, and the one-line errors.
"""

import copy

import pytest

from pyrunc import log
from pyrunc.errors import PyruncError
from pyrunc.seccomp import compile_filter, consts as K
from pyrunc.seccomp import bpf

X86_64, X86, X32, AARCH64 = 0xC000003E, 0x40000003, 0x4000003E, 0xC00000B7
SYSCALLS = {"read": 0, "write": 1, "mkdir": 83, "mkdirat": 258, "personality": 135,
            "seccomp": 317, "sendmsg": 46, "clone": 56, "socketcall": -101}


class FakeLibseccomp:
    version = "9.9.9"

    def __init__(self, supported_flags=0xFF, reject_rule=None):
        self.calls = []
        self.supported = supported_flags
        self.reject_rule = reject_rule

    def native_arch(self):
        return X86_64

    def resolve_arch(self, name):
        return {"x86_64": X86_64, "x86": X86, "x32": X32, "aarch64": AARCH64}.get(name)

    def resolve_syscall(self, name):
        return SYSCALLS.get(name)

    def resolve_syscall_arch(self, token, name):
        nr = SYSCALLS.get(name)
        if nr is None or nr < 0:
            return nr
        return nr | (K.X32_SYSCALL_BIT if token == X32 else 0)

    def flags_supported(self, flags):
        return flags & self.supported == flags

    def new(self, default):
        self.calls.append(("new", default))
        return True

    def add_arch(self, token):
        self.calls.append(("arch", token))
        return 0

    def set_attr(self, attr, value):
        self.calls.append(("attr", attr, value))
        return 0

    def add_rule(self, action, nr, conds):
        self.calls.append(("rule", action, nr, tuple(conds)))
        return -17 if nr == self.reject_rule else 0

    def export(self):
        return bpf.encode([(K.BPF_RET_K, 0, 0, K.ACT_ALLOW)])

    def release(self):
        self.calls.append(("release",))

    def rules(self):
        return [c[1:] for c in self.calls if c[0] == "rule"]


def compile_(sc, **kw):
    fake = FakeLibseccomp(**kw)
    filt = compile_filter(sc, backend=fake)
    return filt, fake


def prof(default="SCMP_ACT_ERRNO", syscalls=(), **kw):
    sc = {"defaultAction": default, "syscalls": [dict(s) for s in syscalls]}
    sc.update(kw)
    return sc


def errmsg(sc, **kw):
    with pytest.raises(PyruncError) as ei:
        compile_(sc, **kw)
    return str(ei.value)


# -- actions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,errno_ret,value", [
    ("SCMP_ACT_KILL", None, 0x00000000),            # runc: KILL is KILL_THREAD
    ("SCMP_ACT_KILL_THREAD", None, 0x00000000),
    ("SCMP_ACT_KILL_PROCESS", None, 0x80000000),
    ("SCMP_ACT_TRAP", None, 0x00030000),
    ("SCMP_ACT_ERRNO", None, 0x00050001),           # EPERM when errnoRet is absent
    ("SCMP_ACT_ERRNO", 99, 0x00050063),
    ("SCMP_ACT_ERRNO", 0x10026, 0x00050026),        # runc: int16 truncation
    ("SCMP_ACT_TRACE", None, 0x7FF00001),
    ("SCMP_ACT_TRACE", 7, 0x7FF00007),
    ("SCMP_ACT_ALLOW", None, 0x7FFF0000),
    ("SCMP_ACT_LOG", None, 0x7FFC0000),
])
def test_rule_actions(name, errno_ret, value):
    call = {"names": ["mkdir"], "action": name}
    if errno_ret is not None:
        call["errnoRet"] = errno_ret
    default = "SCMP_ACT_ALLOW" if name != "SCMP_ACT_ALLOW" else "SCMP_ACT_KILL_PROCESS"
    _, fake = compile_(prof(default, [call]))
    assert fake.rules() == [(value, 83, ())]


def test_default_action_and_errno():
    _, fake = compile_(prof("SCMP_ACT_ERRNO", defaultErrnoRet=38))
    assert fake.calls[0] == ("new", 0x00050026)
    _, fake = compile_(prof("SCMP_ACT_ERRNO"))
    assert fake.calls[0] == ("new", 0x00050001)
    _, fake = compile_(prof("SCMP_ACT_KILL_PROCESS"))
    assert fake.calls[0] == ("new", 0x80000000)
    assert fake.calls[-1] == ("release",)


def test_notify_rule_needs_listener_and_sets_new_listener(tmp_path):
    sc = prof("SCMP_ACT_ALLOW", [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
              listenerPath=str(tmp_path / "agent.sock"))
    filt = compile_filter(sc, backend=FakeLibseccomp(), connect=False)
    assert filt.flags & K.FLAG_NEW_LISTENER and filt.listener is None
    assert "listenerPath" in errmsg(prof("SCMP_ACT_ALLOW", [
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]))


def test_notify_errors():
    assert errmsg(prof("SCMP_ACT_NOTIFY")) == (
        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action")
    msg = errmsg(prof("SCMP_ACT_ALLOW", [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                                         {"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}],
                      listenerPath="/x"))
    assert msg.startswith("linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY cannot be used "
                          "for sendmsg")


def test_listener_connect_failure_names_the_field(tmp_path):
    sc = prof("SCMP_ACT_ALLOW", [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
              listenerPath=str(tmp_path / "nobody-listens"))
    with pytest.raises(PyruncError) as ei:
        compile_filter(sc, backend=FakeLibseccomp())
    assert str(ei.value).startswith("linux.seccomp.listenerPath: cannot connect to the "
                                    "seccomp agent at ")


# -- rules -----------------------------------------------------------------------------------

def test_one_rule_per_name_in_order_and_redundant_skipped():
    _, fake = compile_(prof("SCMP_ACT_ERRNO", [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},              # == default: skipped
        {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2},  # != default
    ]))
    assert fake.rules() == [(K.ACT_ALLOW, 0, ()), (K.ACT_ALLOW, 1, ()),
                            (0x00050002, 258, ())]


def test_unknown_syscall_is_skipped_with_a_debug_line(capsys):
    log.configure(debug=True)
    try:
        _, fake = compile_(prof("SCMP_ACT_ERRNO", [
            {"names": ["read", "no_such_call", "write"], "action": "SCMP_ACT_ALLOW"}]))
    finally:
        log.configure()
    assert [r[1] for r in fake.rules()] == [0, 1]
    err = capsys.readouterr().err
    assert "unknown syscall 'no_such_call' ignored" in err and "WARN" not in err


def test_unknown_syscall_is_silent_without_debug(capsys):
    compile_(prof("SCMP_ACT_ERRNO", [{"names": ["no_such_call"], "action": "SCMP_ACT_ALLOW"}]))
    assert capsys.readouterr().err == ""


def test_pseudo_syscall_numbers_are_kept():
    _, fake = compile_(prof("SCMP_ACT_ERRNO", [{"names": ["socketcall"],
                                                "action": "SCMP_ACT_ALLOW"}]))
    assert fake.rules() == [(K.ACT_ALLOW, -101, ())]


def test_args_on_distinct_indexes_make_one_rule():
    _, fake = compile_(prof("SCMP_ACT_ALLOW", [{
        "names": ["clone"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                 {"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_NE"}]}]))
    assert fake.rules() == [(0x00050001, 56, ((0, 4, 16, 0), (2, 1, 9, 0)))]


def test_args_sharing_an_index_are_split_into_rules():
    # runc: libseccomp cannot AND two conditions on one argument, so each gets its own rule
    # (the conditions end up ORed)
    _, fake = compile_(prof("SCMP_ACT_ALLOW", [{
        "names": ["personality"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                 {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                 {"index": 1, "value": 5, "op": "SCMP_CMP_GT"}]}]))
    assert fake.rules() == [(0x00050001, 135, ((0, 4, 8, 0),)),
                            (0x00050001, 135, ((0, 4, 0, 0),)),
                            (0x00050001, 135, ((1, 6, 5, 0),))]


@pytest.mark.parametrize("op,code", sorted(K.OPS.items()))
def test_every_operator(op, code):
    _, fake = compile_(prof("SCMP_ACT_ALLOW", [{
        "names": ["personality"], "action": "SCMP_ACT_ERRNO",
        "args": [{"index": 3, "value": 0xF0, "valueTwo": 0x30, "op": op}]}]))
    assert fake.rules() == [(0x00050001, 135, ((3, code, 0xF0, 0x30),))]


def test_masked_eq_value_is_the_mask_and_valuetwo_the_result():
    _, fake = compile_(prof("SCMP_ACT_ERRNO", [{
        "names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}]))
    assert fake.rules() == [(K.ACT_ALLOW, 56, ((0, 7, 2114060288, 0),))]


def test_optimisation_above_32_rules():
    names = ["read"] * 33
    _, fake = compile_(prof("SCMP_ACT_ERRNO", [{"names": names, "action": "SCMP_ACT_ALLOW"}]))
    assert ("attr", K.ATTR_CTL_OPTIMIZE, 2) in fake.calls
    _, fake = compile_(prof("SCMP_ACT_ERRNO", [{"names": names[:32],
                                                "action": "SCMP_ACT_ALLOW"}]))
    assert not [c for c in fake.calls if c[0] == "attr"]


def test_rule_rejected_by_libseccomp():
    msg = errmsg(prof("SCMP_ACT_ERRNO", [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                                         {"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}]),
                 reject_rule=83)
    assert msg == "linux.seccomp.syscalls[1]: adding the rule for mkdir: File exists"


# -- architectures and flags ---------------------------------------------------------------

def test_architectures():
    _, fake = compile_(prof(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                           "SCMP_ARCH_X32", "SCMP_ARCH_X86"]))
    assert [c[1] for c in fake.calls if c[0] == "arch"] == [X86_64, X86, X32]


def test_unknown_architecture():
    assert errmsg(prof(architectures=["SCMP_ARCH_X86", "SCMP_ARCH_PDP11"])) == (
        "linux.seccomp.architectures[1]: 'SCMP_ARCH_PDP11' is not an architecture "
        "libseccomp 9.9.9 knows")


def test_flags_default_is_spec_allow_when_supported():
    filt, _ = compile_(prof())
    assert filt.flags == K.FLAG_SPEC_ALLOW
    filt, _ = compile_(prof(), supported_flags=0)
    assert filt.flags == 0
    filt, _ = compile_(prof(flags=[]))  # explicitly none
    assert filt.flags == 0


def test_flags_explicit():
    filt, _ = compile_(prof(flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"]))
    assert filt.flags == K.FLAG_LOG | K.FLAG_TSYNC
    # WAIT_KILLABLE_RECV only means something with a listener: dropped without one
    filt, _ = compile_(prof(flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]))
    assert filt.flags == 0
    sc = prof("SCMP_ACT_ALLOW", [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
              listenerPath="/x", flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                                        "SECCOMP_FILTER_FLAG_TSYNC"])
    filt = compile_filter(sc, backend=FakeLibseccomp(), connect=False)
    assert filt.flags == (K.FLAG_WAIT_KILLABLE_RECV | K.FLAG_NEW_LISTENER | K.FLAG_TSYNC
                          | K.FLAG_TSYNC_ESRCH)


def test_flag_errors():
    assert errmsg(prof(flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FOO"])) == (
        "linux.seccomp.flags[1]: 'SECCOMP_FILTER_FLAG_FOO' is not a known seccomp flag")
    assert errmsg(prof(flags=["SECCOMP_FILTER_FLAG_LOG"]), supported_flags=0) == (
        "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_LOG is not supported by this kernel")


# -- one-line errors naming the field --------------------------------------------------------

GOOD = prof("SCMP_ACT_ERRNO", [
    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5},
])


@pytest.mark.parametrize("edit,expect", [
    (lambda s: s.update(defaultAction="SCMP_ACT_NOPE"),
     "linux.seccomp.defaultAction: 'SCMP_ACT_NOPE' is not a valid seccomp action"),
    (lambda s: s.update(defaultAction="SCMP_ACT_ALLOW", defaultErrnoRet=1),
     "linux.seccomp.defaultErrnoRet: is not supported by action SCMP_ACT_ALLOW"),
    (lambda s: s["syscalls"][3].update(action="SCMP_ACT_BLOCK"),
     "linux.seccomp.syscalls[3].action: 'SCMP_ACT_BLOCK' is not a valid seccomp action"),
    (lambda s: s["syscalls"][1].update(errnoRet=3),
     "linux.seccomp.syscalls[1].errnoRet: is not supported by action SCMP_ACT_ALLOW"),
    (lambda s: s["syscalls"][3].update(errnoRet=-1),
     "linux.seccomp.syscalls[3].errnoRet: -1 is not a valid errno"),
    (lambda s: s["syscalls"][2]["args"][0].update(op="SCMP_CMP_LIKE"),
     "linux.seccomp.syscalls[2].args[0].op: 'SCMP_CMP_LIKE' is not a valid seccomp operator"),
    (lambda s: s["syscalls"][2]["args"][0].update(index=6),
     "linux.seccomp.syscalls[2].args[0].index: 6 is out of range 0..5"),
    (lambda s: s["syscalls"][2]["args"][0].update(value=1 << 64),
     "linux.seccomp.syscalls[2].args[0].value: 18446744073709551616 is not an unsigned"),
    (lambda s: s["syscalls"][2]["args"][0].update(valueTwo=-2),
     "linux.seccomp.syscalls[2].args[0].valueTwo: -2 is not an unsigned"),
    (lambda s: s["syscalls"][1].update(names=["write", ""]),
     "linux.seccomp.syscalls[1].names[1]: '' is not a valid syscall name"),
    (lambda s: s["syscalls"][1].update(names=[]),
     "linux.seccomp.syscalls[1].names: must list at least one syscall"),
    (lambda s: s.update(architectures=["x86_64"]),
     "linux.seccomp.architectures[0]: 'x86_64' is not an architecture"),
])
def test_errors_name_the_field(edit, expect):
    compile_(GOOD)  # the base profile is fine
    sc = copy.deepcopy(GOOD)
    edit(sc)
    msg = errmsg(sc)
    assert msg.startswith(expect), msg
    assert "\n" not in msg


def test_errors_leave_nothing_behind():
    fake = FakeLibseccomp(reject_rule=0)
    with pytest.raises(PyruncError):
        compile_filter(GOOD, backend=fake)
    assert fake.calls[-1] == ("release",)


def test_filter_is_the_exported_program():
    filt, _ = compile_(prof("SCMP_ACT_ALLOW"))  # no -ENOSYS stub for an allowing default
    assert bpf.decode(filt.program) == [(K.BPF_RET_K, 0, 0, K.ACT_ALLOW)]
    assert len(filt) == 1 and filt.seccomp_nr == 317 and filt.listener is None
