"""The training runs, as functions over values: the stochastic loop (SGD, Adam)
and L-BFGS, the frozen configuration and the one-owner state they update,
the data they train on, divergence diagnostics, progress reporting and
Ctrl-C handling. A run takes an architecture, parameters, data, a
configuration and a state, and returns an ``Outcome``; it never sees the
estimator.

May import: :mod:`hdrnn.nn`, :mod:`hdrnn.augmentation`, :mod:`hdrnn._utils`
and :mod:`hdrnn.exceptions` (never the estimator, persistence, the server or
the command line).
"""
