"""pyrunc.jsonio.loads_checked: the decoded document and exactly document_problem's answer,
with the walk skipped only where the text can't hold a problem."""

import random

import pytest

from pyrunc import jsonio


def _both(text):
    data = text.encode("utf-8")
    obj, problem = jsonio.loads_checked(data)
    assert obj == jsonio.loads(data)
    assert problem == jsonio.document_problem(obj)
    return problem


@pytest.mark.parametrize("depth", [1, 2, 199, 200, 201, 250])
def test_depth_limit(depth):
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        problem = _both(opener * depth + "1" + closer * depth)
        if depth > jsonio.MAX_DEPTH:
            assert problem == "nested more than 200 levels deep"
        else:
            assert problem is None


def test_many_brackets_but_shallow_and_deep_inside_siblings():
    wide = "[" + ",".join(['{"a":[1,{"b":[]}]}'] * 300) + "]"
    assert _both(wide) is None
    deep = "[" + ",".join(["[]"] * 300 + ["[" * 200 + "]" * 200]) + "]"
    assert _both(deep) == "nested more than 200 levels deep"
    # brackets inside strings only make the count an over-estimate
    assert _both('{"x": "' + "[" * 500 + '"}') is None


@pytest.mark.parametrize("text", [
    '{"a": "\\ud800"}', '{"a": "\\uD800x"}', '{"\\udfff": 1}', '["ok", ["\\uDc00"]]',
    '{"a": "\\\\ud800"}',                       # an escaped backslash: no surrogate
    '{"a": "\\ud83d\\ude00"}',                  # a valid pair
    '{"a": "\\u00e9", "b": "caf\u00e9"}',
])
def test_surrogates(text):
    problem = _both(text)
    assert (problem is not None) == (text in ('{"a": "\\ud800"}', '{"a": "\\uD800x"}',
                                              '{"\\udfff": 1}', '["ok", ["\\uDc00"]]'))


def test_random_documents_agree():
    rng = random.Random(7)

    def gen(d, budget):
        # one long spine (to depth ~target) with a few leaves hanging off it
        if d >= budget:
            return rng.choice(['1', '"s"', '"\\ud900"', 'null', '"\\\\ud800"', '[]', '{}'])
        leaves = [rng.choice(['2', '"t"', '"\\\\ud800"', '[]']) for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.002:
            leaves.append('"\\uDA00"')
        inner = [gen(d + 1, budget)] + leaves
        rng.shuffle(inner)
        if rng.random() < 0.5:
            return "[" + ",".join(inner) + "]"
        return "{" + ",".join('"k%d":%s' % (i, x) for i, x in enumerate(inner)) + "}"
    for _ in range(300):
        _both(gen(0, rng.choice((5, 150, 198, 199, 200, 201, 230))))


def test_not_bytes_and_errors():
    assert jsonio.loads_checked('{"a": "\ud800"}')[1] is not None  # str: the full walk
    for bad in (b"", b"{", b"\xff", b"[1] x"):
        with pytest.raises(ValueError):
            jsonio.loads_checked(bad)
