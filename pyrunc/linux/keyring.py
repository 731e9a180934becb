"""The container's session keyring (keyctl(2)), as runc makes it.

Unless ``--no-new-keyring``, the init joins a new session keyring named ``_ses.<id>`` so keys
added in one container are not visible in another started from the same session; then it
adds the "search" permission for others (runc does the same, so the user after the uid switch
can still use it).
"""

from pyrunc.linux import libc

KEYCTL_SETPERM = 5
KEYCTL_DESCRIBE = 6
KEYCTL_JOIN_SESSION_KEYRING = 1
KEY_OTH_SEARCH_SHIFTED = 0x080000  # KEY_USR_SEARCH, as runc sets it


def join_session_keyring(name):
    from pyrunc.linux._libc_ffi import ffi
    try:
        serial = libc.syscall("keyctl", KEYCTL_JOIN_SESSION_KEYRING,
                              ffi.new("char[]", name.encode()))
    except OSError as e:
        if e.errno in (38, 13, 1):  # ENOSYS, EACCES, EPERM: keyrings unavailable (userns)
            return None
        raise
    buf = ffi.new("char[]", 512)
    libc.syscall("keyctl", KEYCTL_DESCRIBE, serial, buf, 512)
    desc = ffi.string(buf).decode()
    perm = int(desc.split(";")[3], 16)
    libc.syscall("keyctl", KEYCTL_SETPERM, serial, perm | KEY_OTH_SEARCH_SHIFTED)
    return serial
