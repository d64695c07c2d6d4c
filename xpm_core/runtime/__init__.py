"""The runtime: experiments, the scheduler that runs each job once, and what it writes on disk."""
