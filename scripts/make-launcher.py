"""Write the `pyrunc` launcher into a venv: the interpreter started with -I -S.

pip's console-script wrapper runs ``site`` (and, for an editable install, its import-hook
finder): 10-20 ms of the ~30 ms a `pyrunc state` took. Every container start pays that, so the
launcher skips site and names the two directories pyrunc needs on sys.path itself: the one that
holds the ``pyrunc`` package and the venv's site-packages (for cffi's _cffi_backend).
Bytecode is compiled once here, since -I ignores PYTHONDONTWRITEBYTECODE anyway. The cyclic
garbage collector is off from the first line: a command lives milliseconds, and the
collections its imports would trigger (and, after create's fork, the copy-on-write faults a
collection causes in the waiting init) cost about 1 ms of CPU; the CLI turns it back on for
the commands that run for long (``events``).

The interpreter: ``--python auto`` (the default) takes the system's /usr/bin/pythonX.Y when it
is the venv's version X.Y and loads the venv's compiled extensions (cffi's backend), else the
venv's own; ``--python venv`` the venv's; ``--python PATH`` that build (same version). Start-up
differs between builds: on the Debian 12 VM, /usr/bin/python3.11 (static, PGO+LTO) runs every
command ~1.5 ms sooner and ``run`` with ~15% less CPU than the pyenv build with a shared
libpython (bench/README.md). ``--dest`` writes the launcher elsewhere, e.g. to benchmark an
alternative next to the installed one.

Usage: python3 scripts/make-launcher.py VENV [PKGDIR] [--python auto|venv|PY] [--dest FILE]
"""

import compileall
import os
import subprocess
import sys
import sysconfig


def _option(args, name):
    if name not in args:
        return None
    i = args.index(name)
    value = args[i + 1]
    del args[i:i + 2]
    return value


def _system_python(venv_py, purelib):
    """/usr/bin/pythonX.Y if it is the venv's version and can load the venv's _cffi_backend."""
    ver = subprocess.run([venv_py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    cand = "/usr/bin/python" + ver
    if not os.access(cand, os.X_OK):
        return None
    probe = "import sys; sys.path[:0] = [%r]; import _cffi_backend" % purelib
    r = subprocess.run([cand, "-I", "-S", "-c", probe], capture_output=True)
    return cand if r.returncode == 0 else None


def main():
    args = sys.argv[1:]
    python = _option(args, "--python") or "auto"
    dest = _option(args, "--dest")
    venv = os.path.abspath(args[0])
    pkgdir = os.path.abspath(args[1] if len(args) > 1 else
                             os.path.join(os.path.dirname(__file__), ".."))
    py = os.path.join(venv, "bin", "python3")
    purelib = sysconfig.get_path("purelib", vars={"base": venv, "platbase": venv})
    if python == "auto":
        python = _system_python(py, purelib)
    if python and python != "venv":
        want = subprocess.run([py, "-c", "import sys; print(sys.version_info[:2])"],
                              capture_output=True, text=True, check=True).stdout
        got = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout
        if got != want:
            sys.exit("make-launcher: %s is Python %s, the venv's is %s" % (
                python, got.strip(), want.strip()))
        py = os.path.abspath(python)
    text = (
        "#!%s -IS\n"
        "# pyrunc launcher (scripts/make-launcher.py): no site, explicit sys.path\n"
        "import gc\n"
        "gc.disable()  # a short-lived command: no collections (pyrunc/cli/__init__.py)\n"
        "import sys\n"
        "sys.path[:0] = [%r, %r]\n"
        "from pyrunc.cli import exit_now, main\n"
        "exit_now(main())\n" % (py, pkgdir, purelib))
    dest = os.path.abspath(dest) if dest else os.path.join(venv, "bin", "pyrunc")
    tmp = dest + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)
    compileall.compile_dir(os.path.join(pkgdir, "pyrunc"), quiet=1)
    print(dest)


if __name__ == "__main__":
    main()
