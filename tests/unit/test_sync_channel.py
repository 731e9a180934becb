"""The parent <-> init channel (pyrunc/process/sync.py) over a real socketpair, no container."""

import os
import socket
import threading

from pyrunc.process.context import InitContext, pack, unpack
from pyrunc.process.sync import CHUNK, Channel


def _pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return Channel(a.detach()), Channel(b.detach(), peer="parent")


def test_last_word_survives_an_unread_message():
    """The init may fail with a message of ours unread (the unasked "cgroups"): the kernel
    then reports ECONNRESET once, before the init's queued error, which must still come."""
    parent, init = _pair()
    parent.send("cgroups", cgroup_paths={})
    init.send("error", message="mounts[3]: no such file")
    init.close()
    msg = parent.recv()
    assert msg == {"type": "error", "message": "mounts[3]: no such file"}
    assert parent.recv() is None
    parent.close()


def test_context_round_trip_with_fds_and_a_big_config(tmp_path):
    """The context crosses as JSON in chunks (a config bigger than one datagram may be) with
    its files as SCM_RIGHTS, received close-on-exec."""
    parent, init = _pair()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "start.sock"))
    listener.listen(1)
    dirfd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    idfd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    big = {"process": {"env": ["K%d=%s" % (i, "v" * 100) for i in range(3000)]}}
    ctx = InitContext(cid="c1", config=big, bundle="/b", rootfs="/b/rootfs", preserve_fds=2,
                      start_sock=listener, state_dir_fd=dirfd, idmap_fds={4: idfd},
                      cgroup_mounts={"": "/sys/fs/cgroup"}, rootless=True)
    fields, fds = pack(ctx)
    assert len(str(fields)) > 4 * CHUNK
    sender = threading.Thread(target=parent.send_context, args=(fields, fds))
    sender.start()  # (more than the socket buffers hold: the reader must run meanwhile)
    got = init.recv_context()
    sender.join()
    assert got is not None
    out = unpack(InitContext(), *got)
    assert out.config == big and out.cid == "c1" and out.preserve_fds == 2 and out.rootless
    assert out.cgroup_mounts == {"": "/sys/fs/cgroup"}
    assert out.start_sock.getsockname() == str(tmp_path / "start.sock")
    assert os.path.samestat(os.fstat(out.state_dir_fd), os.fstat(dirfd))
    assert list(out.idmap_fds) == [4]
    assert os.path.samestat(os.fstat(out.idmap_fds[4]), os.fstat(idfd))
    for fd in [out.start_sock.fileno(), out.state_dir_fd, out.idmap_fds[4]]:
        assert not os.get_inheritable(fd)
    out.start_sock.close()
    for fd in (out.state_dir_fd, out.idmap_fds[4], dirfd, idfd):
        os.close(fd)
    listener.close()
    parent.close()
    init.close()


def test_no_context_when_the_parent_gives_up():
    """A create that fails before handing the context over just closes the channel."""
    parent, init = _pair()
    parent.close()
    assert init.recv_context() is None
    init.close()


def test_more_fds_than_one_datagram_carries():
    """A context with more files than SCM_RIGHTS takes at once (253: one per idmapped
    mount) goes in batches."""
    parent, init = _pair()
    base = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    dups = [os.dup(base) for _ in range(300)]
    ctx = InitContext(cid="c", config={}, bundle="/b", rootfs="/r",
                      idmap_fds={i: fd for i, fd in enumerate(dups)})
    sender = threading.Thread(target=parent.send_context, args=pack(ctx))
    sender.start()
    got = init.recv_context()
    sender.join()
    out = unpack(InitContext(), *got)
    assert sorted(out.idmap_fds) == list(range(300))
    assert all(os.path.samestat(os.fstat(fd), os.fstat(base)) for fd in out.idmap_fds.values())
    for fd in list(out.idmap_fds.values()) + dups + [base]:
        os.close(fd)
    parent.close()
    init.close()
