"""runc's -ENOSYS stub: syscalls newer than the profile fail with ENOSYS, not the default errno.

A profile written before a syscall existed cannot list it, so the default action (often
EPERM) would hit it; EPERM tells a libc "you may not" where ENOSYS tells it "fall back to the
older call" (clone3 -> clone, faccessat2 -> faccessat, ...). Like runc's patchbpf package, we
find, per architecture, the largest syscall number any rule of the profile names, and prepend
to libseccomp's program a small stub that returns ENOSYS for anything above it.

This is a port of runc's ``generateEnosysStub`` (libcontainer/seccomp/patchbpf), on raw
``(code, jt, jf, k)`` instructions. The stub only applies when the default action denies
(not ALLOW/LOG/TRACE) and does not already return ENOSYS.
"""

from pyrunc.seccomp import consts as K

ENOSYS_RET = K.act_errno(K.ENOSYS)

ARCH_X86_64 = 0xC000003E  # libseccomp's tokens are the kernel's AUDIT_ARCH_* values...
ARCH_X32 = 0x4000003E     # ...except x32's, which shares AUDIT_ARCH_X86_64 in seccomp_data
ARCH_S390 = 0x00000016
ARCH_S390X = 0x80000016
_S390_MULTIPLEX = 0       # s390's setup(2) slot: where unknown large syscall numbers land


def ld(off):
    return (K.BPF_LD_W_ABS, 0, 0, off)


def ja(k):
    return (K.BPF_JMP_JA, 0, 0, k)


def ret(k):
    return (K.BPF_RET_K, 0, 0, k)


_JMP = {  # condition -> (opcode, swap jt/jf): golang.org/x/net/bpf's assembly of JumpIf
    "jeq": (K.BPF_JMP_JEQ_K, False), "jne": (K.BPF_JMP_JEQ_K, True),
    "jgt": (K.BPF_JMP_JGT_K, False), "jle": (K.BPF_JMP_JGT_K, True),
    "jset": (K.BPF_JMP_JSET_K, False), "jnset": (K.BPF_JMP_JSET_K, True),
}


def jif(cond, val, skip_true, skip_false=0):
    code, swap = _JMP[cond]
    if skip_true > 255 or skip_false > 255:
        raise ValueError("bpf: conditional jump too long")
    if swap:
        return (code, skip_false, skip_true, val)
    return (code, skip_true, skip_false, val)


def audit_arch(token):
    return K.AUDIT_ARCH_X86_64 if token == ARCH_X32 else token


def last_syscalls(names, arch_tokens, resolve):
    """{audit arch: {arch token: largest syscall number}} over ``names``, for each arch.

    ``resolve(token, name)`` gives the syscall's number on that arch, or None; negative
    numbers are libseccomp's pseudo-syscalls (not on that arch) and never count."""
    out = {}
    for token in arch_tokens:
        largest = 0
        for name in names:
            nr = resolve(token, name)
            if nr is not None and nr > largest:
                largest = nr
        if largest:
            out.setdefault(audit_arch(token), {})[token] = largest
    return out


def stub(last):
    """The stub program (a list of instructions) for ``last_syscalls``' result."""
    tail = [
        ja(1),            # fall-through rules jump into the filter
        ret(ENOSYS_RET),  # rules which jump here get -ENOSYS
    ]
    table = {}
    for arch in sorted(last):
        maxes = last[arch]
        base_enosys = len(tail) - 1
        base_filter = base_enosys + 1
        section = [ld(0)]  # the syscall number
        if len(maxes) == 1:
            (token, nr), = maxes.items()
            if token in (ARCH_S390, ARCH_S390X):
                section += [jif("jne", _S390_MULTIPLEX, 1), ret(ENOSYS_RET)]
            if base_enosys + 1 <= 255:
                sect_tail = [jif("jgt", nr, base_enosys + 1), ja(base_filter)]
            else:
                sect_tail = [jif("jle", nr, 1), ret(ENOSYS_RET), ja(base_filter)]
            if arch == K.AUDIT_ARCH_X86_64:
                # x32 calls have bit 30 set: the other mode's section does not apply to them
                cond = "jset" if token == ARCH_X86_64 else "jnset"
                sect_tail = [jif(cond, K.X32_SYSCALL_BIT, len(sect_tail) - 1)] + sect_tail
            section += sect_tail
        else:
            if arch != K.AUDIT_ARCH_X86_64 or set(maxes) != {ARCH_X86_64, ARCH_X32}:
                raise ValueError("seccomp: unexpected architecture overlap %#x" % arch)
            x86, x32 = maxes[ARCH_X86_64], maxes[ARCH_X32]
            if base_enosys + 2 <= 255:
                section += [
                    jif("jset", K.X32_SYSCALL_BIT, 1),
                    jif("jgt", x86, base_enosys + 2, 1),
                    jif("jgt", x32, base_enosys + 1),
                    ja(base_filter),
                ]
            else:
                section += [
                    jif("jset", K.X32_SYSCALL_BIT, 1),
                    jif("jgt", x86, 1, 2),
                    jif("jle", x32, 1),
                    ret(ENOSYS_RET),
                    ja(base_filter),
                ]
        tail = section + tail
        table[arch] = len(tail)  # measured from the end: stays valid as we prepend
    tail = [ja(len(tail))] + tail  # any other arch: straight to the filter
    for arch in sorted(last, reverse=True):
        jump = len(tail) - table[arch]
        if jump <= 255:
            tail = [jif("jeq", arch, jump)] + tail
        else:
            tail = [jif("jne", arch, 1), ja(jump)] + tail
    return [ld(4)] + tail  # the arch
