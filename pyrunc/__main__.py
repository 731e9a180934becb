import gc

gc.disable()  # as the launcher does (scripts/make-launcher.py)

from pyrunc.cli import exit_now, main  # noqa: E402

exit_now(main())
