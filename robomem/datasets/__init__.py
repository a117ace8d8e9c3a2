"""Loaders for public RGB-D datasets."""
from robomem.datasets.tum import load_tum_sequence, read_tum_trajectory

__all__ = ["load_tum_sequence", "read_tum_trajectory"]
