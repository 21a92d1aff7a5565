"""Planning and execution: the Given context, discovery and pinning, batches, locks, the
transport to Salt, and the executor that runs each step's SaltCall on the pinned hosts."""
