"""Built-in plugin for the local machine: the ``local`` connector, the ``direct`` launcher and its fork server."""
