"""NumPy side of derive: compiled gradients, finite differences, gradient checks, training."""
