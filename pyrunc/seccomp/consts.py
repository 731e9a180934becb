"""Constants of linux.seccomp: libseccomp's action/operator/attribute values and the kernel's
seccomp(2) flags (from <seccomp.h> and <linux/seccomp.h>, which need not be installed)."""

# -- actions (SCMP_ACT_*) --------------------------------------------------------------------
ACT_KILL_PROCESS = 0x80000000
ACT_KILL_THREAD = 0x00000000
ACT_TRAP = 0x00030000
ACT_NOTIFY = 0x7FC00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000
_ACT_ERRNO = 0x00050000
_ACT_TRACE = 0x7FF00000


def act_errno(errno):
    return _ACT_ERRNO | (errno & 0xFFFF)


def act_trace(msg_num):
    return _ACT_TRACE | (msg_num & 0xFFFF)


EPERM = 1
ENOSYS = 38

# name -> (action without data, takes errnoRet). runc maps SCMP_ACT_KILL to KILL_THREAD, as
# libseccomp does; ERRNO and TRACE default to EPERM when errnoRet is not given (runc).
ACTIONS = {
    "SCMP_ACT_KILL": (ACT_KILL_THREAD, False),
    "SCMP_ACT_KILL_THREAD": (ACT_KILL_THREAD, False),
    "SCMP_ACT_KILL_PROCESS": (ACT_KILL_PROCESS, False),
    "SCMP_ACT_TRAP": (ACT_TRAP, False),
    "SCMP_ACT_ERRNO": (_ACT_ERRNO, True),
    "SCMP_ACT_TRACE": (_ACT_TRACE, True),
    "SCMP_ACT_ALLOW": (ACT_ALLOW, False),
    "SCMP_ACT_LOG": (ACT_LOG, False),
    "SCMP_ACT_NOTIFY": (ACT_NOTIFY, False),
}

# -- argument comparisons (enum scmp_compare) ---------------------------------------------------
OPS = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,  # (arg & value) == valueTwo
}

# -- filter attributes (enum scmp_filter_attr) -------------------------------------------------
ATTR_CTL_NNP = 3
ATTR_CTL_OPTIMIZE = 8

# -- seccomp(2) ----------------------------------------------------------------------------
SECCOMP_SET_MODE_FILTER = 1
FLAG_TSYNC = 1 << 0
FLAG_LOG = 1 << 1
FLAG_SPEC_ALLOW = 1 << 2
FLAG_NEW_LISTENER = 1 << 3
FLAG_TSYNC_ESRCH = 1 << 4
FLAG_WAIT_KILLABLE_RECV = 1 << 5

FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": FLAG_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": FLAG_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": FLAG_SPEC_ALLOW,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": FLAG_WAIT_KILLABLE_RECV,
}

# AUDIT_ARCH_X86_64, and the bit x32 sets in its syscall numbers
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# -- classic BPF (what seccomp_export_bpf writes) ------------------------------------------------
BPF_LD_W_ABS = 0x20
BPF_JMP_JA = 0x05
BPF_JMP_JEQ_K = 0x15
BPF_JMP_JGT_K = 0x25
BPF_JMP_JGE_K = 0x35
BPF_JMP_JSET_K = 0x45
BPF_RET_K = 0x06
BPF_MAXINSNS = 4096
