"""Device access rules: ``linux.resources.devices`` plus the runtime's defaults.

The rules are folded through an emulator of the cgroup v1 devices controller (as runc does),
so v1 and v2 enforce the same thing: a default (allow or deny everything) plus exceptions.
On v1 the result is written to devices.deny/devices.allow; on v2 it becomes an eBPF
BPF_PROG_TYPE_CGROUP_DEVICE program (``bpf_program``) attached by ``pyrunc.cgroups.bpf``.

Every container gets the default devices whatever its config says (podman sends only a
deny-all rule and relies on this): mknod of anything, null, zero, full, random, urandom, tty,
console, ptmx, /dev/pts/* and tun.
"""

# at the top, not lazily: create imports this module, so struct is loaded before the init
# enters a user namespace, whose root may not read the host's stdlib (seccomp needs struct)
import struct

from pyrunc.errors import PyruncError

WILD = -1

# (type, major, minor, access): appended after the config's rules
DEFAULT_RULES = (
    ("c", WILD, WILD, "m"),
    ("b", WILD, WILD, "m"),
    ("c", 1, 3, "rwm"),     # null
    ("c", 1, 8, "rwm"),     # random
    ("c", 1, 7, "rwm"),     # full
    ("c", 5, 0, "rwm"),     # tty
    ("c", 1, 5, "rwm"),     # zero
    ("c", 1, 9, "rwm"),     # urandom
    ("c", 5, 1, "rwm"),     # console
    ("c", 136, WILD, "rwm"),  # /dev/pts/*
    ("c", 5, 2, "rwm"),     # ptmx
    ("c", 10, 200, "rwm"),  # tun
)


class Rule:
    __slots__ = ("allow", "type", "major", "minor", "access")

    def __init__(self, allow, typ, major, minor, access):
        self.allow = allow
        self.type = typ
        self.major = major
        self.minor = minor
        self.access = access

    def cgroup_string(self):
        if self.type == "a":
            return "a"
        return "%s %s:%s %s" % (self.type, "*" if self.major == WILD else self.major,
                                "*" if self.minor == WILD else self.minor,
                                "".join(c for c in "rwm" if c in self.access))

    def __repr__(self):
        return "Rule(%s %s)" % ("allow" if self.allow else "deny", self.cgroup_string())


def parse_rules(devices, prefix="linux.resources.devices"):
    """The config's rules (OCI LinuxDeviceCgroup objects) as Rule, validated."""
    out = []
    for i, d in enumerate(devices or ()):
        where = "%s[%d]" % (prefix, i)
        typ = d.get("type") or "a"
        if typ not in ("a", "b", "c"):
            raise PyruncError("%s.type: invalid cgroup device type %r" % (where, typ))
        access = d.get("access")
        if access is None:
            access = "rwm"
        if not access or any(c not in "rwm" for c in access):
            raise PyruncError("%s.access: invalid device access %r (a non-empty subset of rwm)"
                              % (where, access))
        major = d.get("major")
        minor = d.get("minor")
        out.append(Rule(bool(d.get("allow")), typ, WILD if major is None else major,
                        WILD if minor is None else minor, access))
    return out


def all_rules(devices, prefix="linux.resources.devices"):
    return parse_rules(devices, prefix) + [Rule(True, *r) for r in DEFAULT_RULES]


class Emulator:
    """The cgroup v1 devices controller's state: a default and a list of exceptions."""

    def __init__(self):
        self.default_allow = False
        self.exceptions = []   # [ [type, major, minor, set(access)] ] in insertion order

    def apply(self, rule):
        if rule.type == "a":
            if rule.major == WILD and rule.minor == WILD and set(rule.access) >= set("rwm"):
                self.default_allow = rule.allow
                self.exceptions = []
                return
            for t in ("c", "b"):
                self.apply(Rule(rule.allow, t, rule.major, rule.minor, rule.access))
            return
        acc = set(rule.access)
        key = (rule.type, rule.major, rule.minor)
        if rule.allow == self.default_allow:
            # same action as the default: take the access away from a matching exception
            for exc in list(self.exceptions):
                if tuple(exc[:3]) == key:
                    exc[3] -= acc
                    if not exc[3]:
                        self.exceptions.remove(exc)
            return
        for exc in self.exceptions:
            if tuple(exc[:3]) == key:
                exc[3] |= acc
                return
        self.exceptions.append([rule.type, rule.major, rule.minor, acc])

    def rules(self):
        """The minimal rule list giving this state: the wildcard default, then exceptions."""
        out = [Rule(self.default_allow, "a", WILD, WILD, "rwm")]
        for t, ma, mi, acc in self.exceptions:
            out.append(Rule(not self.default_allow, t, ma, mi,
                            "".join(c for c in "rwm" if c in acc)))
        return out


def emulate(rules):
    emu = Emulator()
    for r in rules:
        emu.apply(r)
    return emu


def write_v1(path, rules, writer):
    """Program a v1 devices cgroup: the default first, then each exception."""
    emu = emulate(rules)
    for r in emu.rules():
        writer(path, "devices.allow" if r.allow else "devices.deny", r.cgroup_string())


def parse_v1_list(text):
    """devices.list content -> Emulator (for tests and checks)."""
    emu = Emulator()
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        typ, mm, acc = parts
        ma, mi = mm.split(":")
        if typ == "a":
            emu.default_allow = True   # a v1 list reads "a *:* rwm" only in allow-all mode
            continue
        emu.exceptions.append([typ, WILD if ma == "*" else int(ma),
                               WILD if mi == "*" else int(mi), set(acc)])
    return emu


# --- eBPF program for cgroup v2 -------------------------------------------------------------
BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE = 1, 2, 4
BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR = 1, 2
_ACC = {"m": BPF_DEVCG_ACC_MKNOD, "r": BPF_DEVCG_ACC_READ, "w": BPF_DEVCG_ACC_WRITE}
R0, R1, R2, R3, R4, R5 = range(6)


def _insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def bpf_program(rules):
    """BPF_PROG_TYPE_CGROUP_DEVICE instructions (bytes) for the rules (crun's/runc's design).

    ctx (struct bpf_cgroup_dev_ctx): u32 access_type (type | access << 16), u32 major, u32 minor.
    Each exception is a block that falls through to the next on mismatch and returns the
    exception's verdict on a match; the last block returns the default."""
    emu = emulate(rules)
    head = [
        _insn(0x61, R2, R1, 0),           # r2 = *(u32 *)(r1 + 0)
        _insn(0x54, R2, imm=0xFFFF),      # w2 &= 0xffff            (device type)
        _insn(0x61, R3, R1, 0),           # r3 = *(u32 *)(r1 + 0)
        _insn(0x74, R3, imm=16),          # w3 >>= 16               (access)
        _insn(0x61, R4, R1, 4),           # r4 = major
        _insn(0x61, R5, R1, 8),           # r5 = minor
    ]
    blocks = []
    for t, ma, mi, acc in emu.exceptions:
        btype = BPF_DEVCG_DEV_CHAR if t == "c" else BPF_DEVCG_DEV_BLOCK
        bacc = 0
        for c in acc:
            bacc |= _ACC[c]
        # (opcode, dst, src, imm, jumps-to-next?)
        blk = [(0x55, R2, 0, btype, True)]                    # if r2 != type goto next
        if bacc != 7:
            blk += [(0xbc, R1, R3, 0, False),                   # w1 = w3
                    (0x54, R1, 0, bacc, False),                 # w1 &= acc
                    (0x5d, R1, R3, 0, True)]                    # if r1 != r3 goto next
        if ma != WILD:
            blk.append((0x55, R4, 0, ma, True))
        if mi != WILD:
            blk.append((0x55, R5, 0, mi, True))
        verdict = 0 if emu.default_allow else 1
        blk += [(0xb4, R0, 0, verdict, False), (0x95, 0, 0, 0, False)]   # r0 = v; exit
        blocks.append(blk)
    out = list(head)
    for blk in blocks:
        n = len(blk)
        for i, (code, dst, src, imm, jumps) in enumerate(blk):
            off = (n - i - 1) if jumps else 0
            out.append(_insn(code, dst, src, off, imm if imm < 2 ** 31 else imm - 2 ** 32))
    out.append(_insn(0xb4, R0, imm=1 if emu.default_allow else 0))
    out.append(_insn(0x95))
    return b"".join(out)
