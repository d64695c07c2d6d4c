"""xpm-tui: an interactive terminal monitor (Textual) over an xpm workspace, local or remote."""
