"""The VOT toolkit's command line (``vot ...``) without its online update check.

    python -m pytracking.integrations.vot_cli evaluate --workspace WS atom_ebm   # = vot evaluate ...

``vot`` 0.9 calls ``vot.check_updates()`` before every command: an HTTPS request to GitHub (5 s
timeout, failures ignored). This entry point replaces that function in the CLI module with one that
answers "no update" without touching the network, then runs the toolkit's own ``main``; arguments
and behaviour are otherwise those of ``vot``. (With the plain ``vot`` command the check cannot be
switched off by an option or variable; it only fails quietly when there is no network.)
"""
from __future__ import annotations

import sys


def no_update_check() -> tuple[bool, None]:
    """What ``vot.check_updates`` returns when no newer version is known: ``(False, None)``."""
    return False, None


def disable_update_check() -> None:
    """Make the toolkit's CLI use :func:`no_update_check` (no network access)."""
    import vot
    import vot.utilities.cli as cli
    vot.check_updates = no_update_check
    cli.check_updates = no_update_check


def main(argv: list[str] | None = None) -> None:
    """Run ``vot <argv>`` (default: this process's arguments); exits with the toolkit's status."""
    disable_update_check()
    import vot.utilities.cli as cli
    if argv is not None:
        sys.argv = ["vot", *argv]
    else:
        sys.argv = ["vot", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
