"""pyrunc.spec.model: lossless round-trip of real configs, typed access, and Builder edits
that produce configs pyrunc.spec.validate accepts."""

import copy
import json
import os

import pytest

from pyrunc.api_errors import InvalidConfig
from pyrunc.errors import ConfigError
from pyrunc.spec import model
from pyrunc.spec.default import default_spec
from pyrunc.spec.model import (Builder, Capabilities, Config, Hook, Linux, Mount, Namespace,
                               Process, Resources, Rlimit, Root, Seccomp, Syscall, User)
from pyrunc.spec.validate import config_problem, validate_config

from tests.helpers import REPO, SHARED

CLIENTS = os.path.join(SHARED, "reference", "clients")


def _client_configs():
    out = []
    for d in (CLIENTS, os.path.join(CLIENTS, "examples")):
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d))
                    if f.endswith("-config.json")]
    return out


CLIENT_CONFIGS = _client_configs()


def load(path):
    with open(path) as f:
        return json.load(f)


def same(a, b):
    """Equal as dicts AND as serialised text (so key order matches at every level)."""
    return a == b and json.dumps(a) == json.dumps(b)


# -- round trip -----------------------------------------------------------------------------------

def test_client_configs_found():
    # the reference set: 3 client configs + 10 examples
    assert len(CLIENT_CONFIGS) >= 13, CLIENT_CONFIGS


@pytest.mark.parametrize("path", CLIENT_CONFIGS, ids=os.path.basename)
def test_round_trip_client_config(path):
    d = load(path)
    orig = copy.deepcopy(d)
    c = Config.from_dict(d)
    assert same(c.to_dict(), orig)
    assert d == orig  # the input is not modified...
    out = c.to_dict()
    out["process"]["args"].append("x")
    assert c.to_dict() == orig  # ...and the output is a copy
    assert same(Config.from_json(c.to_json()).to_dict(), orig)
    assert c.copy() == c and same(c.copy().to_dict(), orig)
    # the typed view really is typed
    assert isinstance(c.process, Process) and isinstance(c.root, Root)
    assert all(isinstance(m, Mount) for m in c.mounts)
    assert isinstance(c.linux, Linux)
    assert all(isinstance(n, Namespace) for n in c.linux.namespaces)
    assert c.process.args == orig["process"]["args"]


@pytest.mark.parametrize("rootless", [False, True])
def test_round_trip_default_spec(rootless):
    d = default_spec(rootless)
    assert same(Config.from_dict(d).to_dict(), d)
    assert same(Config.default(rootless).to_dict(), default_spec(rootless))


def test_typed_access_to_a_podman_config():
    path = os.path.join(CLIENTS, "examples", "podman-kitchensink-config.json")
    if not os.path.exists(path):
        pytest.skip("reference configs not present")
    c = Config.from_dict(load(path))
    assert c.process.user == User(uid=0, gid=0, umask=18, additional_gids=[0])
    assert c.process.rlimits[0] == Rlimit(type="RLIMIT_NOFILE", hard=20000, soft=20000)
    assert c.linux.resources.memory.limit == 67108864
    assert c.linux.resources.pids.limit == 64
    assert c.linux.seccomp.default_action == "SCMP_ACT_ERRNO"
    assert isinstance(c.linux.seccomp.syscalls[0], Syscall)
    assert c.annotations["io.container.manager"] == "libpod"
    assert "CAP_SYS_ADMIN" in c.process.capabilities.bounding


def test_unknown_members_are_kept_everywhere():
    d = default_spec()
    d["windows"] = {"layerFolders": ["C:\\x"]}                 # another platform
    d["x-vendor"] = {"nested": [1, {"a": None}]}
    d["process"]["futureField"] = 7
    d["process"]["user"]["sid"] = "S-1"
    d["mounts"][0]["x-opt"] = True
    d["linux"]["resources"]["futureController"] = {"max": 3}
    d["linux"]["namespaces"][0]["flags"] = ["x"]
    d["linux"]["newThing"] = []
    d["annotations"] = {"org.example/key": "v", "": "empty key kept too"}
    c = Config.from_dict(d)
    assert c.extra == {"windows": {"layerFolders": ["C:\\x"]},
                       "x-vendor": {"nested": [1, {"a": None}]}}
    assert c.process.extra == {"futureField": 7}
    assert c.mounts[0].extra == {"x-opt": True}
    assert c.linux.resources.extra == {"futureController": {"max": 3}}
    assert same(c.to_dict(), d)


def test_explicit_nulls_and_wrong_types_survive():
    d = {"ociVersion": "1.2.0", "hostname": None, "root": {"path": "rootfs", "readonly": None},
         "mounts": {"not": "a list"}, "process": ["not", "an", "object"],
         "linux": {"namespaces": [{"type": "pid"}, "junk"], "resources": 5}}
    c = Config.from_dict(d)
    assert c.hostname is None and c.root.readonly is None
    assert same(c.to_dict(), d)
    assert config_problem(c.to_dict()) is not None  # kept for validation to report


def test_key_order_source_first_then_declared():
    d = {"root": {"readonly": True, "path": "/r"}, "ociVersion": "1.2.0", "zzz": 1}
    c = Config.from_dict(d)
    c.hostname = "h"
    c.process = Process(cwd="/", args=["sh"], env=["A=1"])
    c.extra["aaa"] = 2
    out = c.to_dict()
    # source keys keep their order; new known keys follow in spec order; new extras last
    assert list(out) == ["root", "ociVersion", "zzz", "process", "hostname", "aaa"]
    assert list(out["root"]) == ["readonly", "path"]
    assert list(out["process"]) == ["args", "env", "cwd"]
    # a field set to None disappears; the rest keeps its place
    c.root.readonly = None
    assert list(c.to_dict()["root"]) == ["path"]


def test_fresh_objects_emit_spec_order():
    c = Config(oci_version="1.2.0", root=Root(path="/r", readonly=True),
               process=Process(terminal=False, user=User(uid=0, gid=0), args=["true"],
                               cwd="/"),
               linux=Linux(namespaces=[Namespace(type="mount")]))
    assert list(c.to_dict()) == ["ociVersion", "process", "root", "linux"]
    assert c.to_dict()["process"] == {"terminal": False, "user": {"uid": 0, "gid": 0},
                                      "args": ["true"], "cwd": "/"}
    validate_config(c.to_dict())


def test_dicts_may_stand_in_for_objects():
    c = Config.default()
    c.linux.resources.memory = {"limit": 1 << 20}
    c.mounts.append({"destination": "/x", "type": "tmpfs", "source": "tmpfs"})
    d = c.to_dict()
    assert d["linux"]["resources"]["memory"] == {"limit": 1 << 20}
    assert d["mounts"][-1]["destination"] == "/x"
    validate_config(d)


def test_load_and_save(tmp_path):
    d = default_spec()
    d["x"] = {"y": 1}
    (tmp_path / "config.json").write_text(json.dumps(d))
    c = Config.load(str(tmp_path))  # a bundle directory
    assert same(c.to_dict(), d)
    c.hostname = "saved"
    path = c.save(str(tmp_path / "out.json"))
    assert load(path)["hostname"] == "saved" and load(path)["x"] == {"y": 1}
    assert Config.load(path) == c


def test_equality_ignores_source_order():
    a = Config.from_dict({"ociVersion": "1.2.0", "hostname": "h"})
    b = Config.from_dict({"hostname": "h", "ociVersion": "1.2.0"})
    assert a == b
    assert a != Config.from_dict({"hostname": "h", "ociVersion": "1.2.0", "x": 1})


def test_cli_never_imports_the_model():
    cli = os.path.join(REPO, "pyrunc", "cli")
    for name in os.listdir(cli):
        if name.endswith(".py"):
            with open(os.path.join(cli, name)) as f:
                text = f.read()
            assert "spec.model" not in text and "import model" not in text, name
            assert "pyrunc.api" not in text, name


# -- builder ------------------------------------------------------------------------------------

def valid(cfg):
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
    validate_config(d)
    return d


def test_builder_process_edits():
    c = (Builder().set_args("sh", "-c", "echo hi").set_env("TERM", "dumb").set_env("A", "1")
         .unset_env("PATH").set_cwd("/tmp").set_user(1000, 1000, additional_gids=[5, 6],
                                                      umask=0o22)
         .set_terminal(False).set_no_new_privileges(False).set_rlimit("nofile", 4096)
         .set_rlimit("RLIMIT_NPROC", 100, 200).build())
    d = valid(c)
    p = d["process"]
    assert p["args"] == ["sh", "-c", "echo hi"]
    assert p["env"] == ["TERM=dumb", "A=1"]  # replaced in place, appended, removed
    assert p["cwd"] == "/tmp"
    assert p["user"] == {"uid": 1000, "gid": 1000, "umask": 0o22, "additionalGids": [5, 6]}
    assert p["terminal"] is False and p["noNewPrivileges"] is False
    assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096},
                            {"type": "RLIMIT_NPROC", "hard": 200, "soft": 100}]
    assert Builder().set_args(["a", "b"]).config.process.args == ["a", "b"]


def test_builder_mounts():
    b = Builder().add_bind("/srv/data", "/data", readonly=True).add_tmpfs("/scratch")
    b.add_mount("/proc", "proc", "proc", ["nosuid"])  # replaces the default /proc in place
    d = valid(b.build())
    dests = [m["destination"] for m in d["mounts"]]
    assert dests[0] == "/proc" and d["mounts"][0]["options"] == ["nosuid"]
    assert d["mounts"][-2] == {"destination": "/data", "type": "bind", "source": "/srv/data",
                               "options": ["rbind", "ro"]}
    assert dests[-1] == "/scratch"
    d = valid(b.remove_mount("/scratch").build())
    assert "/scratch" not in [m["destination"] for m in d["mounts"]]


def test_builder_namespaces():
    b = Builder().remove_namespace("network").add_namespace("cgroup")
    b.add_namespace("ipc", "/proc/1/ns/ipc")  # an existing type is updated, not duplicated
    d = valid(b.build())
    ns = d["linux"]["namespaces"]
    assert [n["type"] for n in ns] == ["pid", "ipc", "uts", "mount", "cgroup"]
    assert ns[1] == {"type": "ipc", "path": "/proc/1/ns/ipc"}
    # dropping uts drops the hostname that needs it; setting a hostname brings uts back
    d = valid(Builder().remove_namespace("uts").build())
    assert "hostname" not in d
    d = valid(Builder().remove_namespace("uts").set_hostname("box").build())
    assert d["hostname"] == "box" and "uts" in [n["type"] for n in d["linux"]["namespaces"]]
    d = valid(Builder().set_user_namespace(100000, 100000).build())
    assert d["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    d = valid(Builder().set_user_namespace(100000, 100000).remove_namespace("user").build())
    assert "uidMappings" not in d["linux"] and "gidMappings" not in d["linux"]


def test_builder_resources():
    d = valid(Builder().set_memory(limit=64 << 20, swap=128 << 20)
              .set_cpu(quota=50000, period=100000, cpus="0").set_pids(32)
              .set_memory(reservation=32 << 20).build())
    r = d["linux"]["resources"]
    assert r["devices"] == [{"allow": False, "access": "rwm"}]  # the default's rule stays
    assert r["memory"] == {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20}
    assert r["cpu"] == {"quota": 50000, "period": 100000, "cpus": "0"}
    assert r["pids"] == {"limit": 32}
    # from an empty linux section too (rootless default has no resources)
    d = valid(Builder.default(rootless=True).set_pids(5).build())
    assert d["linux"]["resources"] == {"pids": {"limit": 5}}
    # burst > quota is refused, naming the field
    with pytest.raises(InvalidConfig) as ei:
        Builder().set_cpu(quota=1000, burst=5000).build()
    assert ei.value.field == "linux.resources.cpu.burst"


def test_builder_capabilities():
    d = valid(Builder().add_capability("net_admin").add_capability("CAP_SYS_PTRACE",
                                                                    sets=["bounding"])
              .drop_capability("CAP_KILL").build())
    caps = d["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted"):
        assert "CAP_NET_ADMIN" in caps[s] and "CAP_KILL" not in caps[s]
    assert "CAP_KILL" not in caps["ambient"] and "CAP_NET_ADMIN" not in caps["ambient"]
    assert "CAP_SYS_PTRACE" in caps["bounding"] and "CAP_SYS_PTRACE" not in caps["effective"]
    assert "inheritable" not in caps  # absent sets stay absent when dropping
    d = valid(Builder().set_capabilities(["CAP_CHOWN"]).build())
    assert d["process"]["capabilities"]["effective"] == ["CAP_CHOWN"]
    with pytest.raises(ValueError):
        Builder().add_capability("CAP_NOT_A_CAP")
    with pytest.raises(ValueError):
        Builder().add_capability("CAP_CHOWN", sets=["bogus"])


def test_builder_root_hostname_annotations():
    d = valid(Builder().set_root("/srv/rootfs", readonly=False).set_hostname("h1")
              .set_annotation("org.example.k", "v").build())
    assert d["root"] == {"path": "/srv/rootfs", "readonly": False}
    assert d["hostname"] == "h1" and d["annotations"] == {"org.example.k": "v"}
    d = valid(Builder().set_readonly_root(True).build())
    assert d["root"]["readonly"] is True


def test_builder_seccomp_from_file(tmp_path):
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 1}],
            "x-comment": "kept"}
    f = tmp_path / "seccomp.json"
    f.write_text(json.dumps(prof))
    d = valid(Builder().seccomp_from_file(str(f)).build())
    assert same(d["linux"]["seccomp"], prof)
    # a whole config.json works too: its linux.seccomp is taken
    path = os.path.join(CLIENTS, "examples", "containerd-seccomp-limits-config.json")
    if os.path.exists(path):
        d = valid(Builder().seccomp_from_file(path).build())
        assert same(d["linux"]["seccomp"], load(path)["linux"]["seccomp"])
    assert isinstance(Seccomp.load(str(f)), Seccomp)
    d = valid(Builder().seccomp_from_file(str(f)).set_seccomp(None).build())
    assert "seccomp" not in d["linux"]
    bad = dict(prof, defaultErrnoRet=1)  # errno with an ALLOW default
    f.write_text(json.dumps(bad))
    with pytest.raises(InvalidConfig) as ei:
        Builder().seccomp_from_file(str(f)).build()
    assert ei.value.field == "linux.seccomp.defaultErrnoRet"


def test_builder_hooks():
    d = valid(Builder().add_hook("prestart", "/bin/true")
              .add_hook("create_runtime", "/bin/sh", ["sh", "-c", "true"], ["A=1"], timeout=5)
              .add_hook("poststop", "/bin/true").build())
    h = d["hooks"]
    assert h["prestart"] == [{"path": "/bin/true", "args": ["/bin/true"]}]
    assert h["createRuntime"] == [{"path": "/bin/sh", "args": ["sh", "-c", "true"],
                                   "env": ["A=1"], "timeout": 5}]
    assert len(h["poststop"]) == 1
    with pytest.raises(ValueError):
        Builder().add_hook("preStart", "/bin/true")
    with pytest.raises(InvalidConfig) as ei:
        Builder().add_hook("poststart", "relative/hook").build()
    assert ei.value.field == "hooks.poststart[0].path"
    d = valid(Builder().add_hook("prestart", "/bin/true").clear_hooks("prestart").build())
    assert d["hooks"] == {}
    assert "hooks" not in valid(Builder().add_hook("prestart", "/x").clear_hooks().build())


@pytest.mark.parametrize("path", CLIENT_CONFIGS, ids=os.path.basename)
def test_builder_edits_on_client_configs_stay_valid(path):
    d = load(path)
    c = (Builder(d).set_args("true").set_env("PYRUNC", "1").set_cwd("/")
         .add_bind("/tmp", "/mnt/host-tmp", readonly=True).set_pids(100)
         .set_memory(limit=256 << 20).add_capability("CAP_CHOWN").drop_capability("CAP_KILL")
         .set_hostname("edited").add_hook("poststop", "/bin/true").build())
    out = valid(c)
    # everything not edited is untouched, in its order
    for k in d:
        if k not in ("process", "mounts", "linux", "hostname", "hooks"):
            assert same(out[k], d[k])
    assert list(out)[:len(d)] == list(d)  # new members (hostname, hooks) come after
    assert out["process"]["args"] == ["true"] and "PYRUNC=1" in out["process"]["env"]
    assert out["linux"]["resources"]["pids"] == {"limit": 100}
    assert out["mounts"][:-1] == d["mounts"]


def test_invalid_edit_names_the_field():
    with pytest.raises(InvalidConfig) as ei:
        Builder().set_cwd("relative").build()
    e = ei.value
    assert isinstance(e, ConfigError)
    assert e.field == "process.cwd" and "not an absolute path" in e.reason
    assert str(e) == "config.json: process.cwd: 'relative' is not an absolute path"
    with pytest.raises(InvalidConfig) as ei:
        Builder().set_rlimit("foo", 1).build()
    assert ei.value.field == "process.rlimits[1].type"
    # build(validate=False) hands it over anyway
    assert Builder().set_cwd("relative").build(validate=False).process.cwd == "relative"


def test_builder_edits_a_config_in_place():
    c = Config.default()
    b = c.builder().set_args("x")
    assert b.config is c and c.process.args == ["x"]
    assert Builder({"ociVersion": "1.2.0", "root": {"path": "r"}}).set_args("true").set_cwd(
        "/").build().to_dict()["process"] == {"args": ["true"], "cwd": "/"}


def test_all_model_classes_round_trip_empty():
    for name in model.__all__:
        cls = getattr(model, name)
        if isinstance(cls, type) and issubclass(cls, model.SpecObject) and \
                cls is not model.SpecObject:
            assert cls.from_dict({}).to_dict() == {}
            assert cls().to_dict() == {}
    assert Hook(path="/x").to_dict() == {"path": "/x"}
    assert Capabilities(bounding=["CAP_KILL"]).to_dict() == {"bounding": ["CAP_KILL"]}
    assert Resources().to_dict() == {}
