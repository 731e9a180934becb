"""pyrunc features: runtime-spec features JSON for this build and host."""

import sys

from pyrunc.cli import args as A


def run(g, argv):
    A.parse(argv, {}, "features")
    from pyrunc import jsonio
    from pyrunc.features import features
    sys.stdout.write(jsonio.dumps(features(), indent=4) + "\n")
