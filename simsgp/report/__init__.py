"""What a run gives back and how it is shown: the result, its metrics, traces, plots and progress lines."""
