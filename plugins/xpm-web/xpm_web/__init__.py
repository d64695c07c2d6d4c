"""xpm-web: follow, explore and control a workspace's experiments in a browser (flask + waitress)."""
