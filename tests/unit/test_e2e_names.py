"""The e2e harness names its containerd namespace after a mkdtemp directory; containerd accepts
only ``[A-Za-z0-9]+`` runs joined by single ``.``/``_``/``-``, and mkdtemp suffixes may contain
``__`` (a CI run once failed on ``e2e-pyrunc-26__my3i``)."""
import re
import types

import pytest

from tests.e2e.clients import Containerd

CONTAINERD_IDENT = re.compile(r"^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$")


@pytest.mark.parametrize("suffix", ["26__my3i", "_abc", "abc_", "a-b", "____", "x"])
@pytest.mark.parametrize("name", ["pyrunc", "runc"])
def test_containerd_namespace_is_a_valid_identifier(name, suffix):
    stack = types.SimpleNamespace(name=name, base="/tmp/e2e-%s-%s" % (name, suffix))
    c = Containerd(stack)
    assert CONTAINERD_IDENT.match(c.ns), c.ns
    assert c.ns.startswith("e2e-%s-" % name)


def test_namespaces_of_different_stacks_differ():
    a = Containerd(types.SimpleNamespace(name="pyrunc", base="/tmp/e2e-pyrunc-aaaa"))
    b = Containerd(types.SimpleNamespace(name="pyrunc", base="/tmp/e2e-pyrunc-aaab"))
    assert a.ns != b.ns
