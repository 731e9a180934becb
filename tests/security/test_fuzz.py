"""Property-based fuzzing of pyrunc's inputs (bounded; fuzz_configs.py runs the long one).

Property: any config.json / process.json / command line either works, or fails with ONE
line on stderr and a non-zero status -- no traceback, no "internal error" -- and leaves
nothing behind (state directory, cgroup, mount, process). Inputs are mutations of the real
clients' configs (shared/reference/clients, root.path rewritten to a test rootfs) and random
documents; see fuzzlib.py for the mutations and for what is made safe before a real run.

Budget: a few hundred in-process examples (validation is fast) and a few dozen real
create / exec / command-line runs, well under two minutes together.
"""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security import fuzzlib

SEEDS = fuzzlib.load_seeds()
PROCS = fuzzlib.process_seeds(SEEDS)

IN_PROCESS = settings(max_examples=300, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
REAL = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) |
    st.text(max_size=20) | st.sampled_from(fuzzlib.STRINGS),
    lambda kids: st.lists(kids, max_size=4) |
    st.dictionaries(st.sampled_from(fuzzlib.KEYS) | st.text(max_size=6), kids, max_size=4),
    max_leaves=25)


def _assert_ok(result, what):
    assert not result.startswith("BUG"), "%s: %s" % (what, result)


@IN_PROCESS
@given(st.data())
def test_mutated_configs_validate_or_fail_in_one_line(data):
    ch = fuzzlib.DataChooser(data)
    config = fuzzlib.mutate(ch, ch.choice(SEEDS), SEEDS)
    _assert_ok(fuzzlib.check_validation(config), json.dumps(config)[:400])


test_mutated_configs_validate_or_fail_in_one_line.needs_root = False


@IN_PROCESS
@given(json_values | st.dictionaries(st.sampled_from(fuzzlib.KEYS), json_values))
def test_random_documents_validate_or_fail_in_one_line(doc):
    _assert_ok(fuzzlib.check_validation(doc), repr(doc)[:400])


test_random_documents_validate_or_fail_in_one_line.needs_root = False


@pytest.fixture(scope="module")
def loadbundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("loadbundle")
    os.makedirs(str(d / "rootfs"))
    return str(d)


@IN_PROCESS
@given(data=st.data())
def test_damaged_bytes_load_or_fail_in_one_line(loadbundle, data):
    ch = fuzzlib.DataChooser(data)
    raw = json.dumps(fuzzlib.mutate(ch, ch.choice(SEEDS), SEEDS)).encode()
    raw = fuzzlib.mutate_bytes(ch, raw)
    _assert_ok(fuzzlib.check_load_bytes(loadbundle, raw), raw[:300])


test_damaged_bytes_load_or_fail_in_one_line.needs_root = False


@pytest.fixture(scope="module")
def box(tmp_path_factory, rootfs_template):
    if os.geteuid() != 0:
        pytest.skip("real runs need root")
    b = fuzzlib.Sandbox(str(tmp_path_factory.mktemp("fuzzbox")), rootfs_template)
    yield b
    b.close()


def _no_bug(outcome, sample):
    assert outcome.kind != "bug", "%s\n    input: %s" % (outcome.detail, sample)


@REAL
@given(st.data())
def test_real_create_of_mutated_configs(box, data):
    ch = fuzzlib.DataChooser(data)
    config = fuzzlib.mutate(ch, ch.choice(SEEDS), SEEDS)
    _no_bug(box.run_config(config), json.dumps(config)[:600])


@settings(REAL, max_examples=15)
@given(st.data())
def test_real_exec_of_mutated_process_json(box, data):
    ch = fuzzlib.DataChooser(data)
    proc = fuzzlib.mutate(ch, ch.choice(PROCS), PROCS)
    _no_bug(box.run_process(proc), json.dumps(proc)[:600])


@REAL
@given(st.data())
def test_real_command_lines(box, data):
    ch = fuzzlib.DataChooser(data)
    argv = fuzzlib.random_argv(ch, fuzzlib._command_flags(), box.ensure_target())
    _no_bug(box.run_argv(argv), argv)
