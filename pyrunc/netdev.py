"""``linux.netDevices``: host network interfaces moved into the container (runtime-spec).

At create, each named host interface is moved into the container's network namespace and
renamed to ``name`` if given (one RTM_NEWLINK: the kernel renames while moving). At delete,
while the container's namespace still exists, each is moved back under its host name.
pyroute2 is imported only here, and this module only when a config has netDevices.
"""

import os

from pyrunc.errors import PyruncError


def check(config):
    devs = (config.get("linux") or {}).get("netDevices")
    if not devs:
        return
    if not isinstance(devs, dict):
        raise PyruncError("config.json: linux.netDevices: must be an object")
    nss = {ns["type"]: ns for ns in (config.get("linux") or {}).get("namespaces") or ()}
    if "network" not in nss:
        raise PyruncError("config.json: linux.netDevices: needs a network namespace (moving "
                          "devices out of the host namespace into itself makes no sense)")
    for host, d in devs.items():
        name = (d or {}).get("name", host)
        if not name or "/" in name or len(name) > 15 or name in (".", ".."):
            raise PyruncError("config.json: linux.netDevices[%s].name: %r is not a valid "
                              "interface name" % (host, name))


def move_in(config, pid):
    devs = (config.get("linux") or {}).get("netDevices") or {}
    if not devs:
        return
    from pyroute2 import IPRoute
    with IPRoute() as ip:
        for host, d in devs.items():
            idx = ip.link_lookup(ifname=host)
            if not idx:
                raise PyruncError("linux.netDevices[%s]: no such network interface on this "
                                  "host" % host)
            name = (d or {}).get("name") or host
            try:
                ip.link("set", index=idx[0], net_ns_pid=pid, ifname=name)
            except Exception as e:
                raise PyruncError("linux.netDevices[%s]: moving it into the container as %s: "
                                  "%s" % (host, name, e)) from None


def move_out(config, pid):
    """Move the devices back to our network namespace (best effort, before the kill)."""
    devs = (config.get("linux") or {}).get("netDevices") or {}
    if not devs or not pid:
        return
    try:
        target = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    child = os.fork()
    if child == 0:
        code = 0
        try:
            from pyrunc.linux import libc
            from pyroute2 import IPRoute
            libc.setns(target, 0x40000000)
            with IPRoute() as ip:
                for host, d in devs.items():
                    name = (d or {}).get("name") or host
                    idx = ip.link_lookup(ifname=name)
                    if idx:
                        ip.link("set", index=idx[0], net_ns_fd=home, ifname=host)
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(child, 0)
    os.close(target)
    os.close(home)
