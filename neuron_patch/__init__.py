"""Repairing the language model itself: MINT neuron patches and IRepair layer slicing."""
