"""The L2 penalty's gradient and loss term, shared by the loss and the fused optimizer step."""

import numpy as np


def add_l2(coefs, coef_grads, penalty, scratch, kernels=None):
    """Add ``penalty * W`` to the weights' gradient; return the loss term ``penalty/2 ||W||^2``.

    Parameters
    ----------
    coefs : ndarray of shape (n_coefs,)
        The weights (the flat parameters' first part).
    coef_grads : ndarray of shape (n_coefs,)
        Their gradient, updated in place.
    penalty : float
        ``alpha`` over the batch's total sample weight.
    scratch : ndarray of shape (n_coefs,)
        Free space, so the NumPy code makes no temporary.
    kernels : SimpleNamespace or None, default=None
        The compiled kernels chosen for the run, or None for the NumPy code.

    Returns
    -------
    term : float
        ``penalty / 2 * ||W||^2``, to add to the loss.
    """
    if kernels is not None:
        # one compiled pass for both: the same gradient, bit for bit; the sum of
        # squares is added up in another order, so the loss may differ in its last bits
        squares = kernels.add_l2_gradient(coefs, coef_grads, coefs.dtype.type(penalty))
    else:
        squares = float(np.dot(coefs, coefs))  # ||W||^2
        np.multiply(coefs, penalty, out=scratch)  # grads += penalty * W, without a temporary
        coef_grads += scratch
    return 0.5 * penalty * squares
