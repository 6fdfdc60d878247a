"""CPU-bound work, in a module light enough for process-pool children to import quickly."""


def cpu_work(n: int) -> int:
    """Pure-Python arithmetic: holds the GIL for the whole loop, like any CPU-bound handler."""
    total = 0
    for i in range(n):
        total = (total + i * i) % 1_000_003
    return total
