"""Errors pyrunc reports to its user.

Every failure a user can see is one of these: a single line of text (no traceback) and an exit
status. The CLI prints ``str(err)`` and exits with ``err.exit_code``; the wording of some messages
is part of runc's contract with its clients (containerd and podman match on substrings such as
``does not exist`` and ``container not running``), so those messages live here, once.
"""


class PyruncError(Exception):
    """A failure to report as one line; ``exit_code`` is the process exit status."""

    exit_code = 1

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(PyruncError):
    """The bundle's config.json is invalid; the message names the field."""


class UsageError(PyruncError):
    """Bad command-line usage (unknown flag, missing argument)."""


class ContainerNotExist(PyruncError):
    def __init__(self, cid=None):
        super().__init__("container does not exist")


class ContainerExists(PyruncError):
    def __init__(self, cid):
        super().__init__("container with id exists: %s" % cid)


class ContainerNotRunning(PyruncError):
    def __init__(self, cid=None):
        super().__init__("container not running")


class ContainerStopped(PyruncError):
    def __init__(self, cid=None):
        super().__init__("cannot start a container that has stopped")


class ContainerNotPaused(PyruncError):
    def __init__(self, cid=None):
        super().__init__("container not paused")


class ContainerInitError(PyruncError):
    """The container's init failed while setting up (reported from inside the namespaces)."""
