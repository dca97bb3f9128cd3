"""Leaf helpers that any part of hdrnn may use: safe file writes, warnings that
point at the user's line, the one place that imports scikit-learn's private
names, image reading, and the description of a fitted model's shape.

May import: the standard library, NumPy, SciPy, scikit-learn, joblib and
:mod:`hdrnn.exceptions`; nothing else of hdrnn.
"""
