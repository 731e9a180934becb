"""A small JSON-Schema (draft-04 style) validator for pyrunc's own schema files.

This is the interpreter. ``create`` does not load it: it runs the same validation compiled
ahead of time into Python source (:mod:`pyrunc.spec._schema_gen`, written by
:mod:`pyrunc.spec._schema_build` and checked to agree with this module by
``tests/unit/test_schema_gen.py``); this module stays the reference, and the API for
all-errors validation, in-memory schemas and tests.

Only the keywords that ``schema/*.json`` use are implemented: ``type`` (``integer`` accepts
neither ``bool`` nor ``float``), ``properties``, ``patternProperties``, ``additionalProperties``,
``required``, ``items``/``additionalItems``, ``enum``, ``const``, ``pattern``,
``minimum``/``maximum`` (+ draft-04 boolean ``exclusiveMinimum``/``exclusiveMaximum``),
``minItems``/``maxItems``, ``uniqueItems``, ``minLength``/``maxLength``,
``minProperties``/``maxProperties``, ``oneOf``/``anyOf``/``allOf``/``not``, ``$ref`` (within a
file and across the files of :func:`schema_dir`) and ``definitions``.  An unknown keyword in a
schema is a :class:`SchemaError`, so a typo in a schema file cannot silently weaken it.

Design:

* Import is cheap: no ``re``, ``json``, ``enum`` or ``typing``.  Files are parsed with
  :func:`pyrunc.jsonio.loads` (the ``_json`` C scanner).  ``pattern`` is evaluated by a tiny
  backtracking matcher (:func:`_compile_regex`) that understands the regular-expression subset
  the schema files use, with Python ``re.search`` semantics; anything outside that subset falls
  back to ``re``, imported on first use of such a pattern.
* A schema is compiled once into closures; compiled validators are cached per process.
  ``$ref`` targets are compiled on first use, so a config pays only for the parts of the
  schema it exercises (:func:`check_schema_files` compiles everything, for tests).
* A closure returns ``None`` when the instance is valid and a list of :class:`ValidationError`
  otherwise.  Paths are only built on failure (each level appends its key while the error
  travels up), so validating a valid document allocates next to nothing.
* A ``pattern`` failure names the schema's ``title`` when it has one ("'1.0' is not a valid
  SemVer 2.0.0 version") rather than printing the regular expression.
* For ``anyOf``/``oneOf`` failures the error of the most relevant branch is reported (see
  :func:`_best_branch`) instead of "not valid under any of the given schemas".
"""

import os

from pyrunc import jsonio
from pyrunc.errors import PyruncError
from pyrunc.spec._schema_base import (  # noqa: F401  (re-exported: the API and the tests)
    _WEAK, ValidationError, _best_branch, _canon, _fail, _is_ident, _prefix, _show,
    _show_enum_item, format_path)

__all__ = [
    "SchemaError", "ValidationError", "schema_dir", "load", "validator", "compile_schema",
    "errors", "first_error", "is_valid", "format_path", "check_schema_files",
]


class SchemaError(PyruncError):
    """A schema file is missing, unreadable or uses something this validator does not know
    (an installation or programming problem, never the user's config)."""


# --------------------------------------------------------------------------------------------
# A tiny regular-expression matcher (search semantics of Python's ``re``)
#
# Supported: literals, ``.``, ``^``, ``$`` (end, or before a final newline, like ``re``),
# character classes with ranges and negation, escapes of punctuation and ``\n \t \r \f \v``,
# groups ``(...)``/``(?:...)``, alternation ``|`` and greedy quantifiers ``* + ? {n} {n,}
# {,m} {n,m}``.  Anything else raises _Unsupported and the caller falls back to ``re``.


class _Unsupported(Exception):
    pass


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}


class _RegexParser:
    """Parses a pattern into nodes: ("lit", str), ("set", chars, ranges, negated), ("bol",),
    ("eol",), ("seq", [nodes]), ("alt", [nodes]), ("rep", node, min, max-or-None)."""

    def __init__(self, pattern):
        self.p = pattern
        self.i = 0

    def parse(self):
        node = self._alt()
        if self.i != len(self.p):
            raise _Unsupported(self.p)
        return node

    def _peek(self):
        return self.p[self.i] if self.i < len(self.p) else ""

    def _alt(self):
        branches = [self._seq()]
        while self._peek() == "|":
            self.i += 1
            branches.append(self._seq())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def _seq(self):
        items = []
        while self.i < len(self.p) and self.p[self.i] not in "|)":
            items.append(self._quantified(self._atom()))
        return ("seq", items)

    def _atom(self):
        p, c = self.p, self.p[self.i]
        self.i += 1
        if c == "(":
            if p.startswith("?:", self.i):
                self.i += 2
            elif p.startswith("?", self.i):
                raise _Unsupported(p)
            node = self._alt()
            if self._peek() != ")":
                raise _Unsupported(p)
            self.i += 1
            return node
        if c == "[":
            return self._class()
        if c == ".":
            return ("set", frozenset("\n"), (), True)
        if c == "^":
            return ("bol",)
        if c == "$":
            return ("eol",)
        if c == "\\":
            return ("lit", self._escape())
        if c in "*+?{":
            raise _Unsupported(p)
        return ("lit", c)

    def _escape(self):
        if self.i >= len(self.p):
            raise _Unsupported(self.p)
        c = self.p[self.i]
        self.i += 1
        if c in _ESCAPES:
            return _ESCAPES[c]
        if c.isascii() and not c.isalnum():
            return c
        raise _Unsupported(self.p)          # \d \w \s \b \A \Z \x.. \1 ...

    def _class(self):
        p = self.p
        negated = False
        if self._peek() == "^":
            negated = True
            self.i += 1
        chars, ranges, first = set(), [], True
        while True:
            if self.i >= len(p):
                raise _Unsupported(p)
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[" or p.startswith(("--", "&&", "~~", "||"), self.i):
                raise _Unsupported(p)       # set operations / nested sets: leave to ``re``
            self.i += 1
            if c == "\\":
                c = self._escape()
            if self._peek() == "-" and self.i + 1 < len(p) and p[self.i + 1] != "]":
                self.i += 1
                hi = p[self.i]
                self.i += 1
                if hi == "\\":
                    hi = self._escape()
                elif hi == "[":
                    raise _Unsupported(p)
                if hi < c:
                    raise _Unsupported(p)
                if ord(hi) - ord(c) < 256:
                    chars.update(chr(o) for o in range(ord(c), ord(hi) + 1))
                else:
                    ranges.append((c, hi))
            else:
                chars.add(c)
        return ("set", frozenset(chars), tuple(ranges), negated)

    def _quantified(self, node):
        c = self._peek()
        if c not in ("*", "+", "?", "{"):
            return node
        if node[0] in ("bol", "eol"):
            raise _Unsupported(self.p)
        self.i += 1
        if c == "*":
            lo, hi = 0, None
        elif c == "+":
            lo, hi = 1, None
        elif c == "?":
            lo, hi = 0, 1
        else:
            end = self.p.find("}", self.i)
            if end < 0:
                raise _Unsupported(self.p)
            body = self.p[self.i:end]
            self.i = end + 1
            lo_s, sep, hi_s = body.partition(",")
            if not (lo_s.isdigit() or lo_s == "") or not (hi_s.isdigit() or hi_s == "") \
                    or not (lo_s.isascii() and hi_s.isascii()) or (not sep and not lo_s):
                raise _Unsupported(self.p)
            lo = int(lo_s) if lo_s else 0
            hi = (int(hi_s) if hi_s else None) if sep else lo
            if hi is not None and hi < lo:
                raise _Unsupported(self.p)
        if self._peek() in ("*", "+", "?", "{"):
            raise _Unsupported(self.p)      # lazy/possessive quantifiers, "multiple repeat"
        return ("rep", node, lo, hi)


def _char_test(node):
    """A predicate for a single-character node ("lit" of length 1 or "set")."""
    if node[0] == "lit":
        ch = node[1]
        return lambda c: c == ch
    _, chars, ranges, negated = node
    if not ranges:
        if negated:
            return lambda c: c not in chars
        return chars.__contains__

    def test(c):
        hit = c in chars
        if not hit:
            for lo, hi in ranges:
                if lo <= c <= hi:
                    hit = True
                    break
        return hit != negated
    return test


def _build(node):
    """Compile a node into ``m(s, i, k) -> bool`` (continuation-passing backtracking)."""
    kind = node[0]
    if kind == "lit":
        lit, n = node[1], len(node[1])
        return lambda s, i, k: s.startswith(lit, i) and k(i + n)
    if kind == "set":
        test = _char_test(node)
        return lambda s, i, k: i < len(s) and test(s[i]) and k(i + 1)
    if kind == "bol":
        return lambda s, i, k: i == 0 and k(i)
    if kind == "eol":
        return lambda s, i, k: (i == len(s) or (i == len(s) - 1 and s[i] == "\n")) and k(i)
    if kind == "alt":
        alts = [_build(b) for b in node[1]]
        return lambda s, i, k: any(m(s, i, k) for m in alts)
    if kind == "seq":
        items = []
        for sub in node[1]:         # merge runs of literals
            if sub[0] == "lit" and items and items[-1][0] == "lit":
                items[-1] = ("lit", items[-1][1] + sub[1])
            else:
                items.append(sub)
        if not items:
            return lambda s, i, k: k(i)
        ms = [_build(sub) for sub in items]
        m = ms[-1]
        for first in reversed(ms[:-1]):
            m = _chain(first, m)
        return m
    if kind == "rep":
        sub, lo, hi = node[1], node[2], node[3]
        if sub[0] == "set" or (sub[0] == "lit" and len(sub[1]) == 1):
            test = _char_test(sub)

            def rep_char(s, i, k):
                end = len(s) if hi is None else min(len(s), i + hi)
                j = i
                while j < end and test(s[j]):
                    j += 1
                while j - i >= lo:
                    if k(j):
                        return True
                    j -= 1
                return False
            return rep_char
        inner = _build(sub)

        def rep(s, i, k, count=0):
            # Greedy: try one more iteration first.  An empty iteration is only useful
            # while the minimum count is not reached (otherwise it could loop forever).
            if (hi is None or count < hi) and inner(
                    s, i, lambda j: (j != i or count < lo) and rep(s, j, k, count + 1)):
                return True
            return count >= lo and k(i)
        return rep
    raise _Unsupported(kind)


def _chain(first, rest):
    return lambda s, i, k: first(s, i, lambda j: rest(s, j, k))


def _always(_):
    return True


def _compile_regex(pattern):
    """Return ``search(text) -> bool`` with the semantics of ``re.search(pattern, text)``.

    Patterns inside the supported subset never import ``re``; the rest use ``re`` lazily.
    """
    try:
        node = _RegexParser(pattern).parse()
        m = _build(node)
    except (_Unsupported, RecursionError):
        return _re_search(pattern)
    anchored = node[0] == "seq" and node[1] and node[1][0][0] == "bol"

    def search(text):
        try:
            if anchored:
                return m(text, 0, _always)
            for start in range(len(text) + 1):
                if m(text, start, _always):
                    return True
            return False
        except RecursionError:
            return _re_search(pattern)(text)
    search.pattern = pattern
    return search


def _re_search(pattern):
    compiled = []

    def search(text):
        if not compiled:
            import re     # only for patterns outside the subset above
            compiled.append(re.compile(pattern))
        return compiled[0].search(text) is not None
    search.pattern = pattern
    return search


# --------------------------------------------------------------------------------------------
# Schema files


def schema_dir():
    """The directory with the schema files: ``pyrunc/schema`` if present, else ``<repo>/schema``."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for cand in (os.path.join(pkg, "schema"), os.path.join(os.path.dirname(pkg), "schema")):
        if os.path.isfile(os.path.join(cand, "config-schema.json")):
            return cand
    raise SchemaError("schema files not found in %s/schema or %s/../schema" % (pkg, pkg))


_DOCS = {}


def load(name):
    """The parsed schema file ``name`` (e.g. ``"defs.json"``), cached per process."""
    doc = _DOCS.get(name)
    if doc is None:
        if "/" in name or name.startswith("."):
            raise SchemaError("bad schema file name %r" % name)
        path = os.path.join(schema_dir(), name)
        try:
            with open(path, "rb") as f:
                doc = jsonio.loads(f.read())
        except (OSError, ValueError) as e:
            raise SchemaError("cannot load schema %s: %s" % (path, e)) from None
        _DOCS[name] = doc
    return doc


def _unescape_pointer_token(tok):
    if "%" in tok:                      # URI fragment percent-encoding
        parts = tok.split("%")
        out = [parts[0]]
        for part in parts[1:]:
            try:
                out.append(chr(int(part[:2], 16)) + part[2:])
            except ValueError:
                out.append("%" + part)
        tok = "".join(out)
    return tok.replace("~1", "/").replace("~0", "~")


def _resolve_pointer(doc, pointer, where):
    node = doc
    if pointer in ("", "/"):
        return doc
    if not pointer.startswith("/"):
        raise SchemaError("unsupported JSON pointer %r in %s" % (pointer, where))
    for tok in pointer[1:].split("/"):
        tok = _unescape_pointer_token(tok)
        if isinstance(node, list):
            try:
                node = node[int(tok)]
            except (ValueError, IndexError):
                raise SchemaError("unresolvable $ref %s" % where) from None
        elif isinstance(node, dict) and tok in node:
            node = node[tok]
        else:
            raise SchemaError("unresolvable $ref %s" % where)
    return node


# --------------------------------------------------------------------------------------------
# Compilation into closures

_ANNOTATIONS = frozenset((
    "$schema", "$id", "id", "title", "description", "definitions", "default", "$comment",
    "examples",
))

_PY_TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}


def _type_test(name):
    if name == "integer":
        return lambda v: isinstance(v, int) and v is not True and v is not False
    if name == "number":
        return lambda v: isinstance(v, (int, float)) and v is not True and v is not False
    if name == "null":
        return lambda v: v is None
    if name == "boolean":
        return lambda v: v is True or v is False
    py = _PY_TYPES.get(name)
    if py is None:
        raise SchemaError("unknown type %r" % name)
    return lambda v: isinstance(v, py)


class _Compiler:
    def __init__(self, all_errors, inline=None, eager=False):
        self.all = all_errors
        self.cache = {}
        self.inline = inline        # the document "#..." refers to in compile_schema()
        self.eager = eager          # compile $ref targets at once (see ref())

    # -- references -------------------------------------------------------------------------

    def ref(self, ref, docname):
        """The validator for ``$ref`` ``ref`` met in file ``docname`` (None: the inline doc).

        The target is resolved now (a dangling reference is a SchemaError at once) but compiled
        on first use unless ``eager``: a config only exercises a fraction of the schema, and
        compiling the rest would cost more than the validation itself.
        """
        target, _, pointer = ref.partition("#")
        if target:
            if "://" in target:
                target = target.rsplit("/", 1)[-1]
            docname = target
        key = (docname, pointer)
        fn = self.cache.get(key)
        if fn is not None:
            return fn
        if docname is None:
            if self.inline is None:
                raise SchemaError("relative $ref %r without a document" % ref)
            doc = self.inline
        else:
            doc = load(docname)
        node = _resolve_pointer(doc, pointer, "%s#%s" % (docname or "<inline>", pointer))
        compiled = []

        def deferred(v):            # also what makes recursive schemas work
            if not compiled:
                compiled.append(self.compile(node, docname))
            return compiled[0](v)
        self.cache[key] = deferred
        if self.eager:
            compiled.append(self.compile(node, docname))
        return deferred

    # -- schemas ----------------------------------------------------------------------------

    def compile(self, schema, docname):
        if schema is True or schema == {}:
            return _valid
        if schema is False:
            return lambda v: _fail("no value is allowed here", "false")
        if not isinstance(schema, dict):
            raise SchemaError("schema must be an object, got %s" % _show(schema))
        if "$ref" in schema:
            # draft-04: the siblings of $ref are ignored
            return self.ref(schema["$ref"], docname)
        for kw in schema:
            if kw not in _KEYWORDS and kw not in _ANNOTATIONS:
                raise SchemaError("unsupported schema keyword %r" % kw)

        checks = []
        for kw in _ORDER:
            if kw in schema:
                fn = getattr(self, "kw_" + _KEYWORDS[kw])(schema[kw], schema, docname)
                if fn is not None:
                    checks.append(fn)
        if not checks:
            return _valid
        if len(checks) == 1:
            return checks[0]
        return self.conjunction(checks)

    def conjunction(self, checks):
        if self.all:
            def all_of(v):
                out = None
                for c in checks:
                    errs = c(v)
                    if errs:
                        if out is None:
                            out = []
                        out.extend(errs)
                return out
            return all_of

        def first_of(v):
            for c in checks:
                errs = c(v)
                if errs:
                    return errs
            return None
        return first_of

    # -- keywords ---------------------------------------------------------------------------

    def kw_type(self, value, schema, docname):
        names = [value] if isinstance(value, str) else list(value)
        tests = [_type_test(n) for n in names]
        label = ", ".join(names)
        if len(names) == 1 and names[0] in ("object", "array", "string"):
            py = _PY_TYPES[names[0]]

            def check_simple(v):
                if isinstance(v, py):
                    return None
                return _fail("%s is not of type %s" % (_show(v), label), "type")
            check_simple.pytype = py
            return check_simple

        def check(v):
            for t in tests:
                if t(v):
                    return None
            return _fail("%s is not of type %s" % (_show(v), label), "type")
        return check

    def kw_enum(self, value, schema, docname):
        if not isinstance(value, list) or not value:
            raise SchemaError("enum must be a non-empty array")
        label = ", ".join(_show_enum_item(x) for x in value)
        if all(isinstance(x, str) for x in value):
            allowed = frozenset(value)

            def check_str(v):
                if isinstance(v, str) and v in allowed:
                    return None
                return _fail("%s is not one of %s" % (_show(v), label), "enum")
            return check_str
        allowed = frozenset(_canon(x) for x in value)

        def check(v):
            if _canon(v) in allowed:
                return None
            return _fail("%s is not one of %s" % (_show(v), label), "enum")
        return check

    def kw_const(self, value, schema, docname):
        want = _canon(value)

        def check(v):
            if _canon(v) == want:
                return None
            return _fail("%s is not %s" % (_show(v), _show(value)), "const")
        return check

    def kw_required(self, value, schema, docname):
        names = list(value)
        if not names:
            return None

        def check(v):
            if not isinstance(v, dict):
                return None
            out = None
            for n in names:
                if n not in v:
                    err = _fail("%s is required" % _show(n), "required")
                    if not self.all:
                        return err
                    out = (out or []) + err
            return out
        return check

    def kw_properties(self, value, schema, docname):
        props = {k: self.compile(s, docname) for k, s in value.items()}
        props = {k: fn for k, fn in props.items() if fn is not _valid}
        pattern_props = [(_compile_regex(p), self.compile(s, docname))
                         for p, s in schema.get("patternProperties", {}).items()]
        addl = schema.get("additionalProperties", True)
        if addl is True or addl == {}:
            addl_fn = None
        elif addl is False:
            addl_fn = False
        else:
            addl_fn = self.compile(addl, docname)
        known = frozenset(value)
        collect = self.all

        if not pattern_props and addl_fn is None:
            if not props:
                return None

            def check_props(v):
                if not isinstance(v, dict):
                    return None
                out = None
                for key, item in v.items():
                    fn = props.get(key)
                    if fn is not None:
                        errs = fn(item)
                        if errs:
                            _prefix(errs, key)
                            if not collect:
                                return errs
                            out = (out or []) + errs
                return out
            return check_props

        def check_object(v):
            if not isinstance(v, dict):
                return None
            out = None
            for key, item in v.items():
                errs = None
                matched = False
                fn = props.get(key)
                if fn is not None:
                    errs = fn(item)
                if not errs and pattern_props:
                    for search, pfn in pattern_props:
                        if search(key):
                            matched = True
                            errs = pfn(item)
                            if errs:
                                break
                if not errs and not matched and key not in known:
                    if addl_fn is False:
                        e = _fail("additional property %s is not allowed" % _show(key),
                                  "additionalProperties")
                        if not collect:
                            return e
                        out = (out or []) + e
                        continue
                    if addl_fn is not None:
                        errs = addl_fn(item)
                if errs:
                    _prefix(errs, key)
                    if not collect:
                        return errs
                    out = (out or []) + errs
            return out
        return check_object

    def kw_patternProperties(self, value, schema, docname):
        if "properties" in schema:
            return None          # handled by kw_properties
        return self.kw_properties({}, schema, docname)

    def kw_additionalProperties(self, value, schema, docname):
        if "properties" in schema or "patternProperties" in schema:
            return None          # handled by kw_properties
        return self.kw_properties({}, schema, docname)

    def kw_items(self, value, schema, docname):
        collect = self.all
        if isinstance(value, list):
            fns = [self.compile(s, docname) for s in value]
            addl = schema.get("additionalItems", True)
            addl_fn = None if addl is True or addl == {} else (
                False if addl is False else self.compile(addl, docname))

            def check_tuple(v):
                if not isinstance(v, list):
                    return None
                out = None
                for idx, item in enumerate(v):
                    if idx < len(fns):
                        errs = fns[idx](item)
                    elif addl_fn is False:
                        errs = _fail("additional item %s is not allowed" % _show(item),
                                     "additionalItems")
                    elif addl_fn is not None:
                        errs = addl_fn(item)
                    else:
                        break
                    if errs:
                        _prefix(errs, idx)
                        if not collect:
                            return errs
                        out = (out or []) + errs
                return out
            return check_tuple

        fn = self.compile(value, docname)
        if fn is _valid:
            return None
        pytype = getattr(fn, "pytype", None)

        def check_items(v):
            if not isinstance(v, list):
                return None
            if pytype is not None:
                for item in v:
                    if not isinstance(item, pytype):
                        break
                else:
                    return None
            out = None
            for idx, item in enumerate(v):
                errs = fn(item)
                if errs:
                    _prefix(errs, idx)
                    if not collect:
                        return errs
                    out = (out or []) + errs
            return out
        return check_items

    def kw_additionalItems(self, value, schema, docname):
        return None              # handled by kw_items (ignored without a tuple ``items``)

    def kw_pattern(self, value, schema, docname):
        search = _compile_regex(value)
        title = schema.get("title")
        if title:                   # a readable name beats a long regular expression
            template = "%s is not a valid " + title.replace("%", "%%")
        else:
            template = "%s does not match " + _show(value, 200).replace("%", "%%")

        def check(v):
            if not isinstance(v, str) or search(v):
                return None
            return _fail(template % _show(v), "pattern")
        return check

    def _bound(self, value, schema, lower):
        if lower:
            excl = schema.get("exclusiveMinimum", False) is True
            bad = (lambda v: v <= value) if excl else (lambda v: v < value)
            text = "less than or equal to" if excl else "less than the minimum of"
            kw = "minimum"
        else:
            excl = schema.get("exclusiveMaximum", False) is True
            bad = (lambda v: v >= value) if excl else (lambda v: v > value)
            text = "greater than or equal to" if excl else "greater than the maximum of"
            kw = "maximum"

        def check(v):
            if isinstance(v, (int, float)) and v is not True and v is not False and bad(v):
                return _fail("%s is %s %s" % (_show(v), text, _show(value)), kw)
            return None
        return check

    def kw_minimum(self, value, schema, docname):
        return self._bound(value, schema, True)

    def kw_maximum(self, value, schema, docname):
        return self._bound(value, schema, False)

    def kw_exclusive(self, value, schema, docname):
        return None              # draft-04 modifiers, handled by minimum/maximum

    def _count(self, value, pytype, lower, kw, noun):
        def check(v):
            if not isinstance(v, pytype):
                return None
            n = len(v)
            if (n < value) if lower else (n > value):
                return _fail("%s is too %s (%s %d %s%s)" % (
                    _show(v), "short" if lower else "long", "minimum" if lower else "maximum",
                    value, noun, "" if value == 1 else "s"), kw)
            return None
        return check

    def kw_minItems(self, value, schema, docname):
        return self._count(value, list, True, "minItems", "item")

    def kw_maxItems(self, value, schema, docname):
        return self._count(value, list, False, "maxItems", "item")

    def kw_minLength(self, value, schema, docname):
        return self._count(value, str, True, "minLength", "character")

    def kw_maxLength(self, value, schema, docname):
        return self._count(value, str, False, "maxLength", "character")

    def kw_minProperties(self, value, schema, docname):
        return self._count(value, dict, True, "minProperties", "property")

    def kw_maxProperties(self, value, schema, docname):
        return self._count(value, dict, False, "maxProperties", "property")

    def kw_uniqueItems(self, value, schema, docname):
        if value is not True:
            return None

        def check(v):
            if not isinstance(v, list):
                return None
            seen = {}
            for idx, item in enumerate(v):
                key = _canon(item)
                if key in seen:
                    return _fail("has non-unique elements ([%d] repeats [%d], %s)" % (
                        idx, seen[key], _show(item)), "uniqueItems")
                seen[key] = idx
            return None
        return check

    def kw_allOf(self, value, schema, docname):
        return self.conjunction([self.compile(s, docname) for s in value])

    def kw_anyOf(self, value, schema, docname):
        fns = [self.compile(s, docname) for s in value]

        def check(v):
            failures = []
            for fn in fns:
                errs = fn(v)
                if not errs:
                    return None
                failures.append(errs)
            return _best_branch(failures)
        return check

    def kw_oneOf(self, value, schema, docname):
        fns = [self.compile(s, docname) for s in value]

        def check(v):
            failures, passed = [], []
            for idx, fn in enumerate(fns):
                errs = fn(v)
                if errs:
                    failures.append(errs)
                else:
                    passed.append(idx)
            if len(passed) == 1:
                return None
            if not passed:
                return _best_branch(failures)
            return _fail("%s is valid under more than one of the given schemas (%s)" % (
                _show(v), ", ".join("#%d" % i for i in passed)), "oneOf")
        return check

    def kw_not(self, value, schema, docname):
        fn = self.compile(value, docname)

        def check(v):
            if fn(v):
                return None
            return _fail("%s must not be valid under %s" % (_show(v), _show(value, 80)), "not")
        return check


_KEYWORDS = {
    "type": "type", "enum": "enum", "const": "const", "required": "required",
    "properties": "properties", "patternProperties": "patternProperties",
    "additionalProperties": "additionalProperties", "items": "items",
    "additionalItems": "additionalItems", "pattern": "pattern", "minimum": "minimum",
    "maximum": "maximum", "exclusiveMinimum": "exclusive", "exclusiveMaximum": "exclusive",
    "minItems": "minItems", "maxItems": "maxItems", "uniqueItems": "uniqueItems",
    "minLength": "minLength", "maxLength": "maxLength", "minProperties": "minProperties",
    "maxProperties": "maxProperties", "allOf": "allOf", "anyOf": "anyOf", "oneOf": "oneOf",
    "not": "not",
}

# Evaluation order: the value's kind first, then its own constraints, then its members, then
# the combinators; the first error reported is therefore the most basic one.
_ORDER = (
    "type", "enum", "const", "minimum", "maximum", "minLength", "maxLength", "pattern",
    "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "required",
    "properties", "patternProperties", "additionalProperties", "items", "additionalItems",
    "allOf", "anyOf", "oneOf", "not", "exclusiveMinimum", "exclusiveMaximum",
)


def _valid(_value):
    return None


# --------------------------------------------------------------------------------------------
# Public API

_VALIDATORS = {}


def validator(name="config-schema.json", all_errors=False):
    """The compiled validator for schema file ``name``: ``fn(instance) -> None or [errors]``.

    Compiled once per process (per ``all_errors`` flavour).  With ``all_errors=False`` the
    list holds only the first error found.
    """
    key = (name, all_errors)
    fn = _VALIDATORS.get(key)
    if fn is None:
        fn = _Compiler(all_errors).ref(name, None)
        _VALIDATORS[key] = fn
    return fn


def compile_schema(schema, all_errors=False):
    """Compile an in-memory schema; its ``$ref``s to ``<file>.json#...`` use :func:`schema_dir`."""
    return _Compiler(all_errors, inline=schema).compile(schema, None)


def check_schema_files():
    """Compile every schema file and every definition in it completely.

    Validators compile ``$ref`` targets lazily, so a mistake in a part of a schema that no
    document has exercised yet would go unnoticed; tests call this to catch it.  Returns the
    names of the files checked; raises SchemaError.
    """
    names = sorted(n for n in os.listdir(schema_dir()) if n.endswith(".json"))
    for name in names:
        compiler = _Compiler(False, eager=True)
        compiler.ref(name, None)
        for defname in load(name).get("definitions", {}):
            compiler.ref("%s#/definitions/%s" % (name, defname), None)
    return names


def errors(instance, name="config-schema.json"):
    """All validation errors of ``instance`` against schema file ``name`` (a list, maybe empty)."""
    return validator(name, True)(instance) or []


def first_error(instance, name="config-schema.json"):
    """The first validation error of ``instance``, or None if it is valid."""
    errs = validator(name, False)(instance)
    return errs[0] if errs else None


def is_valid(instance, name="config-schema.json"):
    return not validator(name, False)(instance)
