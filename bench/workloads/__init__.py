"""One module per workload (or family of workloads); each registers itself with @bench.registry.workload."""
