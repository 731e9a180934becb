"""OCI hooks (config.md "POSIX-platform Hooks"): run a hook with the state on its stdin.

Each hook is ``{"path", "args", "env", "timeout"}``; the container's state JSON is written to
its stdin, it gets exactly ``env`` (nothing inherited) and is killed after ``timeout``
seconds. Which hooks run where and when is the lifecycle's business (runtime.md): prestart and
createRuntime in the runtime's namespaces during create, createContainer in the container's
namespaces before pivot_root, startContainer in the container just before execve, poststart
after start, poststop after delete.
"""

import os
import select
import time

from pyrunc.errors import PyruncError

HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")


class HookError(PyruncError):
    pass


def state_json(cid, status, pid, bundle, annotations):
    from pyrunc import jsonio
    st = {"ociVersion": "1.2.0", "id": cid, "status": status, "pid": pid, "bundle": bundle}
    if annotations:
        st["annotations"] = annotations
    return jsonio.dumps(st)


def run_all(config, kind, state):
    """Run the config's ``kind`` hooks in order; HookError names the first that failed."""
    for i, hook in enumerate((config.get("hooks") or {}).get(kind) or ()):
        try:
            run_hook(hook, state)
        except HookError as e:
            raise HookError("hooks.%s[%d] (%s): %s" % (kind, i, hook.get("path"), e)) from None


def run_all_warn(config, kind, state):
    """poststart/poststop: a failure is a warning and the remaining hooks still run."""
    from pyrunc import log
    for i, hook in enumerate((config.get("hooks") or {}).get(kind) or ()):
        try:
            run_hook(hook, state)
        except HookError as e:
            log.warning("hooks.%s[%d] (%s): %s" % (kind, i, hook.get("path"), e))


def run_hook(hook, state):
    from pyrunc.linux import libc
    path = hook["path"]
    args = hook.get("args") or [path]
    env = hook.get("env") or []
    timeout = hook.get("timeout")
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)  # a group of its own: a timeout kills what the hook started too
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            libc.execve(path, args, env)
        except BaseException as e:
            try:
                os.write(2, ("%s" % (getattr(e, "strerror", None) or e)).encode())
            except OSError:
                pass
        os._exit(127)
    os.close(in_r)
    os.close(out_w)
    try:
        data = state.encode() if isinstance(state, str) else state
        try:
            os.write(in_w, data)
        except BrokenPipeError:
            pass
    finally:
        os.close(in_w)
    status, output = _wait(pid, out_r, timeout)
    os.close(out_r)
    if status is None:
        raise HookError("timed out after %ss" % timeout)
    code = os.waitstatus_to_exitcode(status)
    if code == 127 and not os.access(path, os.X_OK):
        raise HookError("%s is %s" % (path, "not executable" if os.path.exists(path)
                                      else "missing"))
    if code != 0:
        what = "exit status %d" % code if code > 0 else "killed by signal %d" % -code
        text = output.decode(errors="replace").strip()
        raise HookError(what + (": " + text.replace("\n", " ")[:500] if text else ""))


def _wait(pid, out_fd, timeout):
    """(wait status or None on timeout, captured output) of hook ``pid``."""
    deadline = time.monotonic() + timeout if timeout else None
    out = b""
    open_out = True
    while True:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            if open_out:
                try:
                    os.set_blocking(out_fd, False)
                    while True:
                        chunk = os.read(out_fd, 65536)
                        if not chunk:
                            break
                        out += chunk
                except BlockingIOError:
                    pass
            return status, out
        wait = 0.05
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                try:
                    os.killpg(pid, 9)
                except OSError:
                    os.kill(pid, 9)
                os.waitpid(pid, 0)
                return None, out
            wait = min(wait, left)
        r = select.select([out_fd] if open_out else [], [], [], wait)[0] if open_out else \
            (time.sleep(wait) or [])
        if r:
            chunk = os.read(out_fd, 65536)
            if not chunk:
                open_out = False
            elif len(out) < 65536:
                out += chunk
