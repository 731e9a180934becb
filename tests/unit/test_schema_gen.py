"""The generated validator (pyrunc/spec/_schema_gen.py) is up to date with schema/*.json and
gives the interpreter's answers (pyrunc.spec.schema, first-error mode): the same error, path,
message and keyword, on the same corpus as tests/unit/test_schema.py and many more mutations."""

import copy
import os
import random
import re
import subprocess
import sys

import pytest

from pyrunc.spec import _schema_build, _schema_gen, schema
from tests.unit import test_schema as T

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _key(err):
    return None if err is None else (str(err), err.path, err.keyword, err.message)


def _same(instance, name="config-schema.json"):
    ours = _schema_gen.first_error(instance, name)
    theirs = schema.first_error(instance, name)
    assert _key(ours) == _key(theirs), (instance, ours, theirs)
    return theirs


def test_generated_module_is_up_to_date():
    with open(os.path.join(os.path.dirname(_schema_gen.__file__), "_schema_gen.py")) as f:
        committed = f.read()
    assert committed == _schema_build.generate(), \
        "schema/*.json changed: run python3 -m pyrunc.spec._schema_build"


def test_kitchen_sink_and_client_configs():
    assert _same(copy.deepcopy(T.KITCHEN_SINK)) is None
    for path in T.CLIENT_CONFIGS:
        assert _same(T.load(path)) is None


@pytest.mark.parametrize("mutate, expected", T.MUTATIONS,
                         ids=[e.split(":")[0] or "root" for _, e in T.MUTATIONS])
def test_mutations(mutate, expected):
    cfg = copy.deepcopy(T.KITCHEN_SINK)
    mutate(cfg)
    assert str(_same(cfg)).startswith(expected)


def test_random_mutations_agree():
    bases = [T.load(p) for p in T.CLIENT_CONFIGS] + [copy.deepcopy(T.KITCHEN_SINK)]
    rng = random.Random(20261128)
    invalid = 0
    for _ in range(3000):
        cfg = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.choice((1, 1, 2, 3, 5))):
            T._mutate(cfg, rng)
        invalid += _same(cfg) is not None
    assert invalid > 1000


def test_state_documents_agree():
    base = {"ociVersion": "1.0.2-dev", "id": "c5", "pid": 21828, "status": "running",
            "bundle": "/b", "annotations": {"k": "v"}}
    assert _same(base, "state-schema.json") is None
    rng = random.Random(11)
    for _ in range(500):
        st = copy.deepcopy(base)
        T._mutate(st, rng)
        _same(st, "state-schema.json")


def test_not_objects():
    for value in (None, [], "x", 1, 1.5, True, {}):
        _same(value)
        _same(value, "state-schema.json")


@pytest.mark.parametrize("pattern", T._schema_patterns() + T.EXTRA_PATTERNS)
def test_pattern_matchers_match_re(pattern):
    ours = _schema_build.matcher_function(pattern)
    rx = re.compile(pattern)
    rng = random.Random(pattern)
    samples = ["", "\n", "x\n", "\n\n", "1.0.2-dev", "1.2.0-rc.1+b.5", "1.2.0\n", "CAP_CHOWN",
               "CAP_X\n", "0-3,7", "MB:0=1\n", "MB:\n\n", "rwm", "2MB", "aab", "xxxy", "abcd"]
    for _ in range(400):
        samples.append("".join(rng.choice(T.ALPHABET) for _ in range(rng.randint(0, 12))))
    for text in samples:
        assert ours(text) == (rx.search(text) is not None), (pattern, text)


def test_schema_patterns_need_no_fallback():
    text = _schema_build.generate()
    assert "_slow_rx(" not in text.split("def first_error")[1]


def test_validating_imports_nothing_heavy():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from pyrunc.spec import validate, default\n"
            "validate.validate_config(default.default_spec())\n"
            "print(' '.join(sorted(m for m in sys.modules if m in %r or m == "
            "'pyrunc.spec.schema')))" % (REPO, T.HEAVY))
    res = subprocess.run([sys.executable, "-B", "-I", "-S", "-c", code], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""
