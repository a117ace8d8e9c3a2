"""Text normalisation shared by the label matcher and the store view (no other dependency, so
neither imports the other for it)."""
from __future__ import annotations


def label_key(s: str) -> str:
    """Normalised label for comparison: lower case, words joined by single spaces."""
    return " ".join(s.replace("_", " ").replace("-", " ").lower().split())
