"""Collection rules for the whole repository (the doctests of simsgp/ included)."""

import importlib.util

# PyTorch is optional: without it, the module that wraps a user's torch model cannot even be imported
collect_ignore = [] if importlib.util.find_spec("torch") else ["simsgp/torch_task.py"]
