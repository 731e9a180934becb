"""Classic BPF programs as seccomp uses them: (de)serialisation and a small interpreter.

The interpreter runs a program on a ``seccomp_data`` (syscall number, arch, args) the way the
kernel does, so a compiled profile can be checked without loading it (tests, debugging:
``python3 -m pyrunc.seccomp.bpf config.json NAME [ARGS...]`` prints the action).
"""

import struct
import sys

_INSN = struct.Struct("=HBBI")


def encode(insns):
    return b"".join(_INSN.pack(*i) for i in insns)


def decode(data):
    if len(data) % _INSN.size:
        raise ValueError("bpf: %d bytes is not a whole number of instructions" % len(data))
    return [_INSN.unpack_from(data, off) for off in range(0, len(data), _INSN.size)]


def seccomp_data(nr, arch, args=(), ip=0):
    """The 64-byte struct seccomp_data the program reads (native byte order)."""
    a = list(args) + [0] * (6 - len(args))
    return struct.pack("=iIQ6Q", nr & 0xFFFFFFFF if nr < 0 else nr, arch, ip,
                       *[x & 0xFFFFFFFFFFFFFFFF for x in a])


def run(insns, data):
    """The 32-bit value the program returns for ``data`` (bytes of a seccomp_data)."""
    A = X = 0
    mem = [0] * 16
    pc = 0
    n = len(insns)
    while pc < n:
        code, jt, jf, k = insns[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x00:  # LD
            mode, size = code & 0xE0, code & 0x18
            if mode == 0x20 and size == 0x00:      # ld [k]
                A = struct.unpack_from("=I", data, k)[0]
            elif mode == 0x00:                      # ld #k
                A = k
            elif mode == 0x60:                      # ld M[k]
                A = mem[k]
            elif mode == 0x80 and size == 0x00:    # ld #len
                A = len(data)
            else:
                raise ValueError("bpf: unsupported load %#x at %d" % (code, pc - 1))
        elif cls == 0x01:  # LDX
            mode = code & 0xE0
            if mode == 0x00:
                X = k
            elif mode == 0x60:
                X = mem[k]
            elif mode == 0x80:
                X = len(data)
            else:
                raise ValueError("bpf: unsupported ldx %#x at %d" % (code, pc - 1))
        elif cls == 0x02:  # ST
            mem[k] = A
        elif cls == 0x03:  # STX
            mem[k] = X
        elif cls == 0x04:  # ALU
            op = code & 0xF0
            src = X if code & 0x08 else k
            if op == 0x00:
                A = (A + src) & 0xFFFFFFFF
            elif op == 0x10:
                A = (A - src) & 0xFFFFFFFF
            elif op == 0x20:
                A = (A * src) & 0xFFFFFFFF
            elif op == 0x30:
                A = A // src
            elif op == 0x40:
                A = A | src
            elif op == 0x50:
                A = A & src
            elif op == 0x60:
                A = (A << src) & 0xFFFFFFFF
            elif op == 0x70:
                A = A >> src
            elif op == 0x80:
                A = (-A) & 0xFFFFFFFF
            elif op == 0x90:
                A = A % src
            elif op == 0xA0:
                A = A ^ src
            else:
                raise ValueError("bpf: unsupported alu %#x at %d" % (code, pc - 1))
        elif cls == 0x05:  # JMP
            op = code & 0xF0
            src = X if code & 0x08 else k
            if op == 0x00:
                pc += k
                continue
            if op == 0x10:
                cond = A == src
            elif op == 0x20:
                cond = A > src
            elif op == 0x30:
                cond = A >= src
            elif op == 0x40:
                cond = bool(A & src)
            else:
                raise ValueError("bpf: unsupported jump %#x at %d" % (code, pc - 1))
            pc += jt if cond else jf
        elif cls == 0x06:  # RET
            return A if code & 0x18 == 0x10 else k
        elif cls == 0x07:  # MISC
            if code & 0xF8 == 0x00:
                X = A
            else:
                A = X
    raise ValueError("bpf: program fell off its end")


def _main(argv):
    from pyrunc import jsonio
    from pyrunc.seccomp import compile_filter, consts as K
    from pyrunc.seccomp._lib import Libseccomp
    if len(argv) < 2:
        sys.stderr.write("usage: python3 -m pyrunc.seccomp.bpf CONFIG.json SYSCALL [ARG...]\n")
        return 2
    with open(argv[0]) as f:
        cfg = jsonio.loads(f.read())
    sc = cfg.get("linux", {}).get("seccomp", cfg)
    sc = dict(sc, listenerPath=None)
    filt = compile_filter(sc, connect=False)
    lib = Libseccomp()
    nr = lib.resolve_syscall(argv[1])
    r = run(decode(filt.program), seccomp_data(nr, lib.native_arch(),
                                               [int(a, 0) for a in argv[2:]]))
    names = {v[0]: k for k, v in K.ACTIONS.items() if not v[1]}
    act = r & 0xFFFF0000
    print(names.get(r) or ("%s(%d)" % ("SCMP_ACT_ERRNO" if act == 0x50000 else
                                       "SCMP_ACT_TRACE" if act == 0x7FF00000 else hex(act),
                                       r & 0xFFFF)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
