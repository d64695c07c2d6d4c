"""``python -m xpm_core``: the ``xpm`` command, for environments where the script is not on PATH."""

from xpm_core.cli import main

main()
