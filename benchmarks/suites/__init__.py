"""Benchmark suites: each module of this package registers its workloads with ``@workload``."""
