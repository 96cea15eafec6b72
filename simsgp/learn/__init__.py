"""The math kernels on the nodes' stacked rows: array backends, push-sum and the SGD update."""
