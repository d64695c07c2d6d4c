"""experimaestro's ``experimaestro.core`` package: thin re-export modules for porting by changing imports."""
