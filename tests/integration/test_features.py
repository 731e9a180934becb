"""`pyrunc features` describes this build and host from the code's own tables."""

import json
import os

from pyrunc.hooks import HOOK_KINDS
from pyrunc.rootfs import options
from pyrunc.seccomp import consts as K


def test_features_json(pyrunc):
    r = pyrunc.cmd("features")
    assert r.code == 0 and r.err == ""
    f = json.loads(r.out)
    assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"] == "1.2.0"
    assert f["hooks"] == list(HOOK_KINDS)
    for opt in ("ro", "rbind", "rprivate", "tmpcopyup", "idmap", "rro", "nosymfollow"):
        assert opt in f["mountOptions"]
    assert set(f["mountOptions"]) == set(options.FLAGS) | set(options.PROPAGATION) | \
        set(options.RECURSIVE) | set(options.EXTENSIONS)
    lx = f["linux"]
    names = {"mnt": "mount", "net": "network"}
    host = {names.get(n, n) for n in os.listdir("/proc/self/ns") if not n.endswith("_children")}
    assert set(lx["namespaces"]) == host & {"cgroup", "ipc", "mount", "network", "pid", "time",
                                            "user", "uts"}
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    assert len(lx["capabilities"]) == last + 1 and lx["capabilities"][0] == "CAP_CHOWN"
    sc = lx["seccomp"]
    assert sc["enabled"] and set(sc["actions"]) == set(K.ACTIONS)
    assert set(sc["operators"]) == set(K.OPS)
    assert "SCMP_ARCH_X86_64" in sc["archs"] and "SCMP_ARCH_X86" in sc["archs"]
    assert set(sc["supportedFlags"]) <= set(sc["knownFlags"])
    assert "SECCOMP_FILTER_FLAG_LOG" in sc["supportedFlags"]
    assert lx["cgroup"]["v1"] is True  # this host: hybrid
    assert lx["mountExtensions"]["idmap"]["enabled"] is True
    assert f["annotations"]["io.github.seccomp.libseccomp.version"].count(".") == 2


def test_features_matches_runc_shape(pyrunc):
    """Every key runc's features output has, ours has too (clients may parse it)."""
    ref = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                      "reference", "clients", "examples",
                                      "runc-features.json")))
    ours = json.loads(pyrunc.cmd("features").out)

    def keys(d, prefix=""):
        out = set()
        for k, v in d.items():
            if k == "annotations":
                continue
            out.add(prefix + k)
            if isinstance(v, dict):
                out |= keys(v, prefix + k + ".")
        return out
    assert keys(ref) <= keys(ours)
