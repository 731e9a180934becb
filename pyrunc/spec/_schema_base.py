"""What the interpreted schema validator (:mod:`pyrunc.spec.schema`) and the generated one
(:mod:`pyrunc.spec._schema_gen`) share: the error type, path rendering, value rendering, JSON
equality and the choice of the anyOf/oneOf branch to report.

Kept small and free of heavy imports: ``create`` loads it (through the generated validator)
on every start.
"""

from pyrunc import jsonio


class ValidationError:
    """One validation failure: where (``path``), what (``message``) and which ``keyword``."""

    __slots__ = ("_rpath", "message", "keyword")

    def __init__(self, message, keyword):
        self._rpath = []          # path segments, innermost first (appended while unwinding)
        self.message = message
        self.keyword = keyword

    @property
    def path(self):
        """The path to the failing value from the document root: a tuple of keys and indexes."""
        return tuple(reversed(self._rpath))

    @property
    def path_str(self):
        """The path rendered like ``process.rlimits[0].type`` (empty for the root)."""
        return format_path(self.path)

    def __str__(self):
        p = self.path_str
        return p + ": " + self.message if p else self.message

    def __repr__(self):
        return "ValidationError(%r)" % str(self)


def _is_ident(key):
    if not key or not (key[0].isascii() and (key[0].isalpha() or key[0] == "_")):
        return False
    for ch in key:
        if not (ch.isascii() and (ch.isalnum() or ch == "_")):
            return False
    return True


def format_path(path):
    """Render a path: identifier keys as ``.key``, others as ``["k.e.y"]``, indexes as ``[i]``."""
    out = []
    for seg in path:
        if isinstance(seg, int):
            out.append("[%d]" % seg)
        elif _is_ident(seg):
            out.append("." + seg if out else seg)
        else:
            out.append("[" + jsonio.dumps(seg) + "]")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Value rendering and JSON equality


def _show(value, limit=60):
    """A short one-line rendering of an instance value for error messages."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (int, float)):
        text = repr(value)
    else:
        try:
            text = jsonio.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def _show_enum_item(value):
    return value if isinstance(value, str) else _show(value)


def _canon(value):
    """A hashable key such that two JSON values are equal iff their keys are equal.

    JSON-Schema equality: booleans are not numbers; ``1`` and ``1.0`` are equal.
    """
    if value is True or value is False:
        return ("b", value)
    if value is None:
        return ("z",)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(_canon(v) for v in value))
    if isinstance(value, dict):
        return ("d", frozenset((k, _canon(v)) for k, v in value.items()))
    return ("?", id(value))



def _fail(message, keyword):
    return [ValidationError(message, keyword)]


def _prefix(errs, seg):
    for e in errs:
        e._rpath.append(seg)
    return errs


_WEAK = frozenset(("type", "enum", "const"))


def _best_branch(branch_errors):
    """Pick the error list of the most relevant failed branch of an anyOf/oneOf.

    A branch whose (first) error is a type/enum/const mismatch most likely describes a
    different kind of value, so those rank last; otherwise the deepest error wins (it got
    furthest into the instance); ties go to the earliest branch.
    """
    def rank(item):
        idx, errs = item
        e = errs[0]
        return (e.keyword in _WEAK, -len(e._rpath), idx)
    return min(enumerate(branch_errors), key=rank)[1]



def unique_error(v):
    """The uniqueItems failure of list ``v``, or None (JSON equality: see :func:`_canon`)."""
    seen = {}
    for idx, item in enumerate(v):
        key = _canon(item)
        if key in seen:
            return _fail("has non-unique elements ([%d] repeats [%d], %s)" % (
                idx, seen[key], _show(item)), "uniqueItems")
        seen[key] = idx
    return None
