"""Write the `pyrunc` launcher into a venv: the interpreter started with -I -S.

pip's console-script wrapper runs ``site`` (and, for an editable install, its import-hook
finder): 10-20 ms of the ~30 ms a `pyrunc state` took. Every container start pays that, so the
launcher skips site and names the two directories pyrunc needs on sys.path itself: the one that
holds the ``pyrunc`` package and the venv's site-packages (for cffi's _cffi_backend).
Bytecode is compiled once here, since -I ignores PYTHONDONTWRITEBYTECODE anyway.

Usage: python3 scripts/make-launcher.py VENV [PKGDIR]
"""

import compileall
import os
import sys
import sysconfig


def main():
    venv = os.path.abspath(sys.argv[1])
    pkgdir = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else
                             os.path.join(os.path.dirname(__file__), ".."))
    py = os.path.join(venv, "bin", "python3")
    purelib = sysconfig.get_path("purelib", vars={"base": venv, "platbase": venv})
    text = (
        "#!%s -IS\n"
        "# pyrunc launcher (scripts/make-launcher.py): no site, explicit sys.path\n"
        "import sys\n"
        "sys.path[:0] = [%r, %r]\n"
        "from pyrunc.cli import exit_now, main\n"
        "exit_now(main())\n" % (py, pkgdir, purelib))
    dest = os.path.join(venv, "bin", "pyrunc")
    tmp = dest + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)
    compileall.compile_dir(os.path.join(pkgdir, "pyrunc"), quiet=1)
    print(dest)


if __name__ == "__main__":
    main()
