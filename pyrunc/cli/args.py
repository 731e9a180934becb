"""A small command-line parser with urfave/cli's rules (what runc uses).

Flags are ``-name``/``--name``, with the value as the next word or after ``=``; boolean flags
take an optional ``=true|false``; flags stop at the first positional word or at ``--``.
A flag table maps every spelling to (canonical name, kind) with kind bool|str|int|list.
"""

from pyrunc.errors import UsageError


def table(*specs):
    """table(("bundle", "b", "str"), ...) -> {spelling: (name, kind)}"""
    out = {}
    for spec in specs:
        name, short, kind = spec
        out[name] = (name, kind)
        if short:
            out[short] = (name, kind)
    return out


def parse(argv, flags, cmd="pyrunc"):
    """(values dict, positional list) from argv."""
    vals = {}
    for name, kind in flags.values():
        vals.setdefault(name, False if kind == "bool" else [] if kind == "list" else None)
    i = 0
    n = len(argv)
    while i < n:
        a = argv[i]
        if a == "--":
            i += 1
            break
        if len(a) < 2 or a[0] != "-":
            break
        key = a.lstrip("-")
        val = None
        if "=" in key:
            key, val = key.split("=", 1)
        spec = flags.get(key)
        if spec is None:
            raise UsageError("%s: flag provided but not defined: -%s" % (cmd, key))
        name, kind = spec
        if kind == "bool":
            if val is None:
                vals[name] = True
            elif val.lower() in ("true", "1", "t"):
                vals[name] = True
            elif val.lower() in ("false", "0", "f"):
                vals[name] = False
            else:
                raise UsageError("%s: invalid boolean value %r for -%s" % (cmd, val, key))
            i += 1
            continue
        if val is None:
            if i + 1 >= n:
                raise UsageError("%s: flag needs an argument: -%s" % (cmd, key))
            val = argv[i + 1]
            i += 2
        else:
            i += 1
        if kind == "int":
            try:
                val = int(val, 0)
            except ValueError:
                raise UsageError("%s: invalid value %r for flag -%s" % (cmd, val, key)) \
                    from None
        if kind == "list":
            vals[name].append(val)
        else:
            vals[name] = val
    return vals, argv[i:]


def need_id(cmd, args, extra=0):
    """The container id (runc: exactly 1 argument, or 1-2 for kill)."""
    if not args or (len(args) > 1 + extra):
        if extra:
            raise UsageError('"%s" requires a minimum of 1 and a maximum of %d argument(s)'
                             % (cmd, 1 + extra))
        raise UsageError('"%s" requires exactly 1 argument(s)' % cmd)
    return args[0]
