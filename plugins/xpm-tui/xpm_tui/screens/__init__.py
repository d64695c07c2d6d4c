"""The screens of the TUI: experiments, runs, jobs of a run, one job, a log, confirmations, help."""
