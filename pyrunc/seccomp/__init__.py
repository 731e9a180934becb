"""linux.seccomp: the profile compiled through the system's libseccomp (cffi), loaded late.

Imported only when a config has a seccomp profile. The init calls ``compile_filter`` before
pivot_root (dlopen of libseccomp.so.2, connecting listenerPath) and ``Filter.load`` as late
as possible: just before execve with noNewPrivileges, else before dropping CAP_SYS_ADMIN.
See compile.py for the semantics (runc's), enosys.py for the -ENOSYS stub, notify.py for
SCMP_ACT_NOTIFY's listener.
"""

from pyrunc.seccomp.compile import Filter, compile_filter  # noqa: F401
