"""Exceptions of the Python API (``pyrunc.api``), all ``pyrunc.errors.PyruncError``s.

The API raises the runtime's own classes (``ContainerNotExist``, ``ContainerExists``,
``ContainerNotRunning``, ...) whether the operation ran in-process or in a worker process
(the worker reports the class and message, see ``pyrunc.api_worker``), plus these:

* :class:`InvalidConfig` -- a ``ConfigError`` that names the offending ``field``
  (``"process.rlimits[0].type"``) and the ``reason``; ``str()`` is exactly the line
  ``pyrunc create`` prints;
* :class:`ProcessFailed` -- ``check=True`` and the process exited non-zero;
* :class:`Timeout` -- a wait ran out of time (also a ``TimeoutError``);
* :class:`WorkerError` -- a worker process failed without reporting a pyrunc error.

Each API error carries ``container_id`` (None when not about one container).
"""

from pyrunc import errors


class InvalidConfig(errors.ConfigError):
    """config.json is invalid: ``field`` (None for the document as a whole) and ``reason``."""

    def __init__(self, field, reason, source="config.json"):
        if field:
            msg = "%s: %s: %s" % (source, field, reason)
        else:
            msg = "%s: %s" % (source, reason)
        super().__init__(msg)
        self.field = field
        self.reason = reason
        self.container_id = None

    @classmethod
    def from_message(cls, message):
        """Recover field and reason from a ConfigError's one line."""
        text = message
        source = "config.json"
        if text.startswith("config.json: "):
            text = text[len("config.json: "):]
        elif text.startswith("root.path: "):
            return cls("root.path", text[len("root.path: "):])
        field, sep, reason = text.partition(": ")
        if sep and field and " " not in field:
            return cls(field, reason, source)
        return cls(None, text, source)


class ProcessFailed(errors.PyruncError):
    """A process run with ``check=True`` exited non-zero; ``completed`` has its output."""

    def __init__(self, completed, args=None, container_id=None):
        super().__init__("%s exited with status %s" % (
            " ".join(args) if args else "the container process", completed.exit_code))
        self.completed = completed
        self.args_ = args
        self.container_id = container_id


class Timeout(errors.PyruncError, TimeoutError):
    """A wait ran out of time; ``completed`` holds the output so far (exit_code None)."""

    def __init__(self, what, timeout, completed=None, container_id=None):
        super().__init__("%s did not finish within %s seconds" % (what, timeout))
        self.timeout = timeout
        self.completed = completed
        self.container_id = container_id


class WorkerError(errors.PyruncError):
    """A worker process (create/exec) failed without reporting a pyrunc error."""

    def __init__(self, message, exit_code=None, stderr=None, container_id=None):
        super().__init__(message)
        if exit_code is not None:
            self.worker_exit_code = exit_code
        self.stderr = stderr
        self.container_id = container_id


def rebuild(report, container_id=None):
    """The exception a worker reported (``{"error": class path, "message", "exit_code"}``):
    an instance of the same pyrunc class with the same message; a ConfigError becomes an
    InvalidConfig with its field."""
    path = report.get("error") or ""
    message = report.get("message") or "unknown error"
    mod_name, _, cls_name = path.rpartition(".")
    cls = None
    if mod_name == "pyrunc" or mod_name.startswith("pyrunc."):
        import importlib
        try:
            cls = getattr(importlib.import_module(mod_name), cls_name, None)
        except ImportError:
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, errors.PyruncError)):
        err = WorkerError(message, container_id=container_id)
    elif issubclass(cls, errors.ConfigError) and not issubclass(cls, InvalidConfig):
        err = InvalidConfig.from_message(message)
    else:
        # the classes' own constructors differ (some take the container id): build the
        # instance directly with the reported message
        err = cls.__new__(cls)
        Exception.__init__(err, message)
    if report.get("exit_code") is not None:
        err.exit_code = report["exit_code"]
    err.container_id = container_id
    return err
