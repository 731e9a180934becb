"""Session keyring, socket activation, netDevices and idmapped mounts."""

import os
import subprocess

import pytest

from tests.helpers import new_id


def _unmasked(b):
    b.config["linux"]["maskedPaths"] = [p for p in b.config["linux"]["maskedPaths"]
                                        if p != "/proc/keys"]
    return b.write()


def test_new_session_keyring_named_after_container(pyrunc, make_bundle):
    b = _unmasked(make_bundle("cat", "/proc/keys"))
    cid = new_id()
    r = pyrunc.run(b, cid)
    assert r.code == 0, r
    ses = [line for line in r.out.splitlines() if "_ses." in line]
    assert any(line.endswith("keyring   _ses.%s: empty" % cid) for line in ses), r.out
    # runc's permissions: possessor all, user view/read/search/setattr... plus other search
    mine = [line for line in ses if "_ses.%s" % cid in line][0]
    assert mine.split()[4] == "3f1b0000"


def test_no_new_keyring_keeps_callers_session(pyrunc, make_bundle):
    b = _unmasked(make_bundle("cat", "/proc/keys"))
    cid = new_id()
    r = pyrunc.cmd("run", "--no-new-keyring", "--bundle", b.path, cid)
    assert r.code == 0, r
    assert "_ses.%s" % cid not in r.out


def test_listen_fds_socket_activation(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; readlink /proc/self/fd/3; "
                                "readlink /proc/self/fd/4")
    a = open(tmp_path / "a", "w")
    c = open(tmp_path / "c", "w")
    try:
        env = dict(os.environ, LISTEN_FDS="2")
        os.dup2(a.fileno(), 3)
        os.dup2(c.fileno(), 4)
        r = pyrunc.run(b, env=env, pass_fds=(3, 4))
    finally:
        a.close()
        c.close()
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0] == "2 1"
    assert lines[1:3] == [str(tmp_path / "a"), str(tmp_path / "c")]


@pytest.fixture
def veth():
    name = "pyrv%d" % (os.getpid() % 10000)
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
                   check=True)
    yield name
    subprocess.run(["ip", "link", "del", name], capture_output=True)


def _host_links():
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def test_net_devices_moved_renamed_and_returned(pyrunc, make_bundle, veth):
    b = make_bundle("sleep", "300")
    b.config["linux"]["netDevices"] = {veth: {"name": "ctr0"}}
    b.write()
    cid = new_id()
    pyrunc.cmd("run", "-d", "--bundle", b.path, cid, check=True)
    r = pyrunc.cmd("exec", cid, "cat", "/proc/net/dev")
    assert "ctr0:" in r.out
    assert (veth + ":") not in _host_links().replace("@", ":")
    pyrunc.cmd("delete", "--force", cid, check=True)
    assert (veth + "@") in _host_links()  # back on the host under its own name


def test_net_devices_need_a_network_namespace(pyrunc, make_bundle, veth):
    b = make_bundle("true")
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"]
                                       if n["type"] != "network"]
    b.config["linux"]["netDevices"] = {veth: {}}
    b.write()
    r = pyrunc.run(b)
    assert r.code != 0 and "linux.netDevices" in r.err and "network namespace" in r.err


def test_net_device_missing_on_host(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["linux"]["netDevices"] = {"nosuchdev0": {}}
    b.write()
    r = pyrunc.run(b)
    assert r.code != 0 and "linux.netDevices[nosuchdev0]" in r.err
    assert pyrunc.ids() == []


def test_idmapped_bind_mount(pyrunc, make_bundle, tmp_path):
    src = tmp_path / "vol"
    src.mkdir()
    (src / "f").write_text("x")
    os.chown(src / "f", 0, 0)
    b = make_bundle("stat", "-c", "%u %g", "/mnt/f")
    b.config["mounts"].append({
        "destination": "/mnt", "type": "bind", "source": str(src),
        "options": ["bind", "idmap"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}]})
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0, r
    assert r.out.split() == ["1000", "2000"]  # on-disk 0:0 seen through the mapping
    assert os.stat(src / "f").st_uid == 0  # the host's file is untouched
