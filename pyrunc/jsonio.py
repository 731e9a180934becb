"""JSON without the cost of the ``json`` package.

``import json`` pulls in ``re`` and ``enum`` (about 8 ms on a small VM), which is more than the
whole budget of ``pyrunc state``. The C accelerator ``_json`` that ``json`` itself uses can be
driven directly: a scanner for decoding and an encoder for encoding, same results as ``json``.
"""

import _json

_WS = " \t\n\r"


class _Ctx:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name):
        raise ValueError("invalid JSON constant %s" % name)


_scanner = _json.make_scanner(_Ctx())


def loads(text):
    """Decode one JSON document; raises ValueError with the position on bad input."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    if text.startswith("\ufeff"):
        raise ValueError("unexpected UTF-8 BOM")
    end = len(text)
    idx = 0
    while idx < end and text[idx] in _WS:
        idx += 1
    try:
        obj, idx = _scanner(text, idx)
    except StopIteration as e:
        raise ValueError("expecting value at char %d" % e.value) from None
    except RecursionError:
        # a hostile document ([[[[...]]]] 100k deep) must be a one-line error, not a crash
        raise ValueError("nested too deeply") from None
    except SystemError:
        # _json reports a syntax error as json.decoder.JSONDecodeError, looked up only in
        # sys.modules: without it imported that is a SystemError. Import it (error path only)
        # and decode again for the real message.
        import json
        json.loads(text)
        raise ValueError("invalid JSON") from None
    while idx < end and text[idx] in _WS:
        idx += 1
    if idx != end:
        raise ValueError("extra data at char %d" % idx)
    return obj


MAX_DEPTH = 200


def document_problem(obj, limit=MAX_DEPTH):
    """Why a decoded document can't be used as it is, or None: containers nested more than
    ``limit`` levels (a document that only just parsed must not blow the stack later, when
    it is encoded or validated), or a string that is not Unicode text (JSON's \\udXXX
    escapes can make lone surrogates, which no path, argument or environment can hold).
    Iterative, and cheap next to the schema validation that follows."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            items = list(o.keys()) + list(o.values())
        elif isinstance(o, list):
            items = o
        else:
            continue
        if d > limit:
            return "nested more than %d levels deep" % limit
        for v in items:
            if isinstance(v, (dict, list)):
                stack.append((v, d + 1))
            elif isinstance(v, str):
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    return "%s is not valid Unicode (a lone surrogate escape)" % (
                        ascii(v) if len(v) < 40 else ascii(v[:40]) + "...")
    return None


def loads_checked(data, limit=MAX_DEPTH):
    """``(loads(data), problem)`` for UTF-8 ``data`` (bytes): the decoded document and its
    :func:`document_problem` (or None), which is only searched for where the text could hold
    one. A lone surrogate can only come from a ``\\uDxxx`` escape (strict UTF-8 decoding
    never yields one), and a document with at most ``limit`` ``{`` and ``[`` in all can't be
    nested deeper than that: a config has neither, and skips the walk (most of the cost of
    the check); a big one without escapes gets the depth-only walk."""
    if not isinstance(data, (bytes, bytearray)):
        obj = loads(data)
        return obj, document_problem(obj, limit)
    text = data.decode("utf-8")
    obj = loads(text)
    if "\\ud" in text or "\\uD" in text:
        return obj, document_problem(obj, limit)
    if text.count("{") + text.count("[") <= limit or not _too_deep(obj, limit):
        return obj, None
    return obj, "nested more than %d levels deep" % limit


def _too_deep(obj, limit):
    """Whether ``obj`` (decoded JSON) has containers nested more than ``limit`` levels."""
    level = [obj]
    for _ in range(limit):
        deeper = []
        for o in level:
            t = type(o)
            if t is dict:
                o = o.values()
            elif t is not list:
                continue
            for v in o:
                t = type(v)
                if t is dict or t is list:
                    deeper.append(v)
        if not deeper:
            return False
        level = deeper
    return True


def _default(obj):
    raise TypeError("object of type %s is not JSON serializable" % type(obj).__name__)


def _floatstr(o, _repr=float.__repr__, _inf=float("inf")):
    if o != o or o == _inf or o == -_inf:
        raise ValueError("out of range float values are not JSON compliant")
    return _repr(o)


_compact = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None,
                              ":", ",", False, False, False)


def dumps(obj, indent=None):
    """Encode compactly (``{"a":1}``); with ``indent``, pretty-printed like Go's MarshalIndent."""
    if indent is None:
        return "".join(_compact(obj, 0))
    out = []
    _pretty(obj, " " * indent, "\n", out)
    return "".join(out)


def _pretty(obj, step, nl, out):
    # The C encoder ignores indent in CPython 3.11, so indentation is done here; leaves are
    # still encoded by the C encoder.
    if isinstance(obj, dict) and obj:
        inner = nl + step
        out.append("{")
        first = True
        for k, v in obj.items():
            if not isinstance(k, str):
                k = str(k)
            out.append(inner if first else "," + inner)
            first = False
            out.append(_json.encode_basestring_ascii(k))
            out.append(": ")
            _pretty(v, step, inner, out)
        out.append(nl + "}")
    elif isinstance(obj, (list, tuple)) and obj:
        inner = nl + step
        out.append("[")
        for i, v in enumerate(obj):
            out.append(inner if i == 0 else "," + inner)
            _pretty(v, step, inner, out)
        out.append(nl + "]")
    else:
        out.append("".join(_compact(obj, 0)))


def load_file(path):
    with open(path, "rb") as f:
        return loads(f.read())
