"""Shared code of models/: the model-directory contract, graph export wrappers, random-weight twins."""
