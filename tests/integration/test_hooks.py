"""The six hooks: order, namespaces, state on stdin, env, timeout and failure semantics."""

import json
import os

from tests.helpers import new_id

HOOK = """#!/bin/sh
state=$(cat)
echo "$1|$state|$(readlink /proc/self/ns/mnt)|$(env | sort | tr '\\n' ',')" >> %s
"""


def _hooked(make_bundle, tmp_path, log, kinds, args=("true",)):
    b = make_bundle(*args)
    script = tmp_path / "hook.sh"
    script.write_text(HOOK % log)
    script.chmod(0o755)
    inside = os.path.join(b.rootfs, "bin", "hook.sh")
    with open(inside, "w") as f:
        f.write(HOOK.replace("#!/bin/sh", "#!/bin/sh") % "/dev/null; echo ran >&2")
    os.chmod(inside, 0o755)
    b.config["hooks"] = {}
    for k in kinds:
        path = "/bin/hook.sh" if k == "startContainer" else str(script)
        b.config["hooks"][k] = [{"path": path, "args": [path, k], "env": ["HOOKENV=%s" % k]}]
    return b.write()


def _records(log):
    out = []
    for line in open(log).read().splitlines():
        kind, state, mnt, env = line.split("|")
        out.append((kind, json.loads(state), mnt, env))
    return out


def test_hook_order_state_and_namespaces(pyrunc, make_bundle, tmp_path):
    log = str(tmp_path / "hooks.log")
    kinds = ["prestart", "createRuntime", "createContainer", "poststart", "poststop"]
    b = _hooked(make_bundle, tmp_path, log, kinds)
    cid = new_id()
    r = pyrunc.run(b, cid)
    assert r.code == 0, r
    recs = _records(log)
    assert [k for k, *_ in recs] == kinds
    host_mnt = os.readlink("/proc/self/ns/mnt")
    by = {k: (st, mnt, env) for k, st, mnt, env in recs}
    for k in ("prestart", "createRuntime", "poststart", "poststop"):
        assert by[k][1] == host_mnt  # runtime namespace
    assert by["createContainer"][1] != host_mnt  # the container's mount namespace
    assert by["createRuntime"][0]["status"] == "creating"
    assert by["poststart"][0]["status"] == "running"
    assert by["poststop"][0]["status"] == "stopped"
    pid = by["createRuntime"][0]["pid"]
    assert pid > 1  # runtime namespace: the host pid
    # runtime.md: hooks in the container namespace get the pid as the container sees it
    assert by["createContainer"][0]["pid"] == 1
    for k, (st, _, env) in by.items():
        assert st["id"] == cid and st["bundle"] == b.path
        assert "HOOKENV=%s" % k in env and "PATH=" not in env  # exactly the hook's env


def test_failing_create_runtime_hook_aborts(pyrunc, make_bundle, tmp_path):
    b = make_bundle("true")
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c",
                                                                      "echo nope; exit 3"]}]}
    b.write()
    cid = new_id()
    r = pyrunc.cmd("create", "--bundle", b.path, cid)
    assert r.code != 0
    assert "hooks.createRuntime[0]" in r.err and "exit status 3" in r.err and "nope" in r.err
    assert pyrunc.ids() == [] and not os.path.exists(os.path.join(pyrunc.root, cid))


def test_hook_timeout(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"],
                                       "timeout": 1}]}
    b.write()
    r = pyrunc.cmd("create", "--bundle", b.path, new_id(), timeout=20)
    assert r.code != 0 and "timed out" in r.err


def test_start_container_hook_runs_inside(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sh", "-c", "cat /ran-marker")
    b.config["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": [
        "sh", "-c", "cat > /ran-marker"]}]}
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0, r
    st = json.loads(r.out)  # the hook wrote its stdin (the state) inside the container
    assert st["status"] == "created" and st["pid"] > 0


def test_failing_start_container_hook_fails_start(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["hooks"] = {"startContainer": [{"path": "/bin/false", "args": ["false"]}]}
    b.write()
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, cid, check=True)
    r = pyrunc.cmd("start", cid)
    assert r.code != 0 and "hooks.startContainer[0]" in r.err
    assert pyrunc.state(cid)["status"] == "stopped"


def test_failing_poststart_is_a_warning(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sleep", "1")
    b.config["hooks"] = {"poststart": [{"path": "/bin/false", "args": ["false"]}],
                         "poststop": [{"path": "/bin/false", "args": ["false"]}]}
    b.write()
    cid = new_id()
    log = tmp_path / "log.json"
    r = pyrunc.cmd("run", "--bundle", b.path, cid, global_args=("--log", log,
                                                                 "--log-format", "json"))
    assert r.code == 0, r
    levels = [json.loads(x)["level"] for x in log.read_text().splitlines()]
    assert levels == ["warning", "warning"]
