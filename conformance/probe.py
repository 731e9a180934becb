"""A probe run inside a container: what the process sees, as comparable data.

``SCRIPT`` is a busybox sh script that prints one section per observation, each introduced
by a line ``@@ <name>``.  ``parse(text)`` turns its output into ``{name: value}`` with every
value reduced to what a runtime decides (no mount ids, dates, inode numbers...), so the
observations of runc and pyrunc for the same bundle can be compared field by field.

The shell reads its *own* /proc/$$ entries (status, limits, oom_score_adj): that is the
process the runtime exec'd, before a child's execve could recompute its capabilities.
"""

SCRIPT = r"""
echo '@@ id'; id
echo '@@ groups'; id -G
echo '@@ umask'; umask
echo '@@ status'; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/$$/status
echo '@@ limits'; cat /proc/$$/limits
echo '@@ oom_score_adj'; cat /proc/$$/oom_score_adj
echo '@@ mounts'; cat /proc/$$/mountinfo
echo '@@ dev'; ls -la /dev
echo '@@ devpts'; ls -la /dev/pts
echo '@@ hostname'; hostname
echo '@@ domainname'; cat /proc/sys/kernel/domainname
echo '@@ uid_map'; cat /proc/$$/uid_map
echo '@@ gid_map'; cat /proc/$$/gid_map
echo '@@ setgroups'; cat /proc/$$/setgroups
echo '@@ cwd'; pwd
echo '@@ env'; tr '\0' '\n' < /proc/$$/environ
echo '@@ fds'; ls /proc/$$/fd
echo '@@ pid'; echo $$
echo '@@ cgroup'; cat /proc/$$/cgroup
echo '@@ netdev'; ls /sys/class/net 2>/dev/null || cut -d: -f1 /proc/net/dev | tail -n +3
echo '@@ root_writable'; touch /.probe-rw 2>/dev/null && echo yes && rm -f /.probe-rw || echo no
echo '@@ syscalls'; unshare -U true 2>&1; echo "unshare-user rc=$?"; \
  unshare -m true 2>&1; echo "unshare-mount rc=$?"
echo '@@ end'
"""


def _sections(text):
    out = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("@@ "):
            cur = line[3:].strip()
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def _unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")


def parse_mountinfo(lines):
    """[(mountpoint, fstype, per-mount options, propagation, source, super options)] sorted.

    Dropped: mount id, parent id, major:minor (the device numbers of anonymous filesystems
    such as proc/tmpfs are allocated per mount), root (a bind's root names the host path).
    The optional fields keep only their tags ("shared", "master"...): peer group ids are
    allocated per mount."""
    out = []
    for line in lines:
        left, _, right = line.partition(" - ")
        f = left.split()
        if len(f) < 6:
            continue
        r = right.split()
        fstype = r[0] if r else ""
        source = r[1] if len(r) > 1 else ""
        sopts = r[2] if len(r) > 2 else ""
        prop = ",".join(sorted(o.split(":")[0] for o in f[6:])) or "private"
        out.append((_unescape(f[4]), fstype, f[5], prop, source, sopts))
    return sorted(out)


def parse_ls(lines):
    """busybox ``ls -la`` -> sorted [(name, mode string, owner, group, rdev or '', target)].

    Dropped: link count, size and date (a tmpfs directory's size depends on its entries,
    dates on when the runtime made the node)."""
    out = []
    for line in lines:
        f = line.split()
        if not f or f[0] == "total":
            continue
        mode, owner, group = f[0], f[2], f[3]
        rest = f[4:]
        rdev = ""
        if mode[0] in "cb":
            rdev = (rest[0] + rest[1]).replace(",", ":")
            rest = rest[2:]
        else:
            rest = rest[1:]
        rest = rest[3:]  # month day time|year
        name = " ".join(rest)
        target = ""
        if " -> " in name:
            name, target = name.split(" -> ", 1)
        if name in (".", ".."):
            continue
        out.append((name, mode, owner, group, rdev, target))
    return sorted(out)


def parse(text):
    s = _sections(text)
    obs = {}
    for k, v in s.items():
        if k == "mounts":
            obs[k] = parse_mountinfo(v)
        elif k in ("dev", "devpts"):
            obs[k] = parse_ls(v)
        elif k in ("uid_map", "gid_map"):
            obs[k] = [tuple(line.split()) for line in v]
        elif k == "env":
            obs[k] = v  # order matters
        elif k in ("fds", "netdev"):
            obs[k] = sorted(" ".join(v).split())
        elif k == "limits":
            obs[k] = [" ".join(line.split()) for line in v]
        else:
            obs[k] = "\n".join(v)
    return obs


def args():
    """process.args that run the probe."""
    return ["sh", "-c", SCRIPT]
