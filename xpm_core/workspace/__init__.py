"""The workspace's record of experiments, runs and jobs: files on disk and the SQLite index over them."""
