"""Stochastic optimizers that update a flat parameter vector in place.

Both follow scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer`` update
rules exactly, but work on the single flat parameter vector of
:mod:`hdrnn.nn.network` with one preallocated scratch buffer, so an update is
a handful of whole-array passes with no temporaries. The step size is the
attribute ``learning_rate``, which the training loop sets from a
:class:`~hdrnn.nn.schedules.LearningRateSchedule` between epochs.
"""

import copy
import math

import numpy as np

from hdrnn.nn.regularization import add_l2


class _Optimizer:
    """State handling shared by the optimizers.

    Each optimizer names its state once, in three class attributes that the
    training state and the model-file checks read: ``HYPERPARAMETERS`` (the
    constructor's keyword arguments, with their types), ``COUNTERS`` (integer
    state, such as Adam's step count) and ``STATE_ARRAYS`` (one array per
    parameter, such as the moments).
    """

    HYPERPARAMETERS: dict = {}
    COUNTERS: tuple = ()
    STATE_ARRAYS: tuple = ()

    def state_dict(self):
        """Return a deep copy of the optimizer's state (hyperparameters, counters, arrays)."""
        names = (*self.HYPERPARAMETERS, *self.COUNTERS, *self.STATE_ARRAYS)
        return {name: copy.deepcopy(getattr(self, name)) for name in names}

    @classmethod
    def from_state(cls, state):
        """A new optimizer holding ``state`` (as :meth:`state_dict` returns it)."""
        first = state[cls.STATE_ARRAYS[0]]
        hyperparameters = {name: state[name] for name in cls.HYPERPARAMETERS}
        optimizer = cls(first.size, first.dtype, **hyperparameters)
        optimizer.load_state(state)
        return optimizer

    def load_state(self, state):
        """Restore a state returned by :meth:`state_dict`, copying into this optimizer."""
        for name, value in state.items():
            current = getattr(self, name)
            if isinstance(current, np.ndarray) and current.flags.writeable:
                current[...] = value
            else:
                setattr(self, name, copy.deepcopy(value))


class SGD(_Optimizer):
    """Stochastic gradient descent with (Nesterov) momentum.

    The update is ``v <- momentum * v - lr * g`` followed by ``p <- p + v``,
    or, with Nesterov's momentum, ``p <- p + momentum * v - lr * g``.

    Parameters
    ----------
    n_params : int
        Length of the flat parameter vector.
    dtype : numpy dtype
        Its dtype.
    learning_rate : float
        Initial step size.
    momentum : float
        Momentum in [0, 1].
    nesterov : bool
        Whether to use Nesterov's momentum.

    Attributes
    ----------
    learning_rate : float
        The current step size.
    velocity : ndarray of shape (n_params,)
        The momentum buffer.
    """

    HYPERPARAMETERS = {"learning_rate": float, "momentum": float, "nesterov": bool}
    STATE_ARRAYS = ("velocity",)

    def __init__(self, n_params, dtype, *, learning_rate, momentum, nesterov):
        self.learning_rate = float(learning_rate)
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = np.zeros(n_params, dtype=dtype)
        self._scratch = np.empty(n_params, dtype=dtype)

    def step(self, params, grads, kernels=None):
        """Update ``params`` in place from the gradient ``grads`` (``kernels``: unused)."""
        step = np.multiply(grads, self.learning_rate, out=self._scratch)  # lr * g
        self.velocity *= self.momentum
        self.velocity -= step
        if self.nesterov:
            params -= step
            step = np.multiply(self.velocity, self.momentum, out=self._scratch)
            params += step
        else:
            params += self.velocity


class Adam(_Optimizer):
    """Adam with bias correction (Kingma & Ba, 2014).

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, then
    ``p <- p - lr_t * m / (sqrt(v) + eps)`` with
    ``lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)``.

    The moments are stored as decayed sums, ``grad_sum = m / (1 - b1)``
    and ``sq_grad_sum = v / (1 - b2)``, whose updates ``G <- b1 G + g`` take
    two passes over the parameters where ``b1 m + (1 - b1) g`` takes three;
    the constant factors move into the step size and ``eps``. The update is
    the same; only the rounding differs. With numba installed the ten
    passes run as one compiled loop (:mod:`hdrnn.nn._kernels`), with
    bit-identical results.

    Parameters
    ----------
    n_params : int
        Length of the flat parameter vector.
    dtype : numpy dtype
        Its dtype.
    learning_rate : float
        Step size.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float
        Added to ``sqrt(v)`` for numerical stability.

    Attributes
    ----------
    t : int
        Number of steps taken.
    grad_sum, sq_grad_sum : ndarray of shape (n_params,)
        Decayed sums of the gradients and of their squares.
    """

    HYPERPARAMETERS = {"learning_rate": float, "beta_1": float, "beta_2": float, "epsilon": float}
    COUNTERS = ("t",)
    STATE_ARRAYS = ("grad_sum", "sq_grad_sum")

    def __init__(self, n_params, dtype, *, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = float(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.grad_sum = np.zeros(n_params, dtype=dtype)
        self.sq_grad_sum = np.zeros(n_params, dtype=dtype)
        self._scratch = np.empty(n_params, dtype=dtype)

    @property
    def m(self):
        """ndarray: the first moment estimate, ``(1 - beta_1) * grad_sum`` (a copy)."""
        return (1.0 - self.beta_1) * self.grad_sum

    @property
    def v(self):
        """ndarray: the second moment estimate, ``(1 - beta_2) * sq_grad_sum`` (a copy)."""
        return (1.0 - self.beta_2) * self.sq_grad_sum

    def _next_step(self):
        """Count the step; return ``(eps, step)``, the constants of the decayed-sum update."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        # m / (sqrt(v) + eps) = (1 - b1) G / (r (sqrt(S) + eps / r)) with r = sqrt(1 - b2)
        r = math.sqrt(1.0 - b2)
        lr_t = self.learning_rate * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        return self.epsilon / r, lr_t * (1.0 - b1) / r

    def _compiled(self, kernels, params, grads):
        """``kernels`` when they can take these arrays, else None."""
        if kernels is not None and params.dtype == grads.dtype == self.grad_sum.dtype:
            return kernels
        return None

    def _constants(self, dtype, eps, step):
        # NumPy rounds Python scalars to the array dtype; the kernels get them rounded alike
        as_dtype = dtype.type
        return as_dtype(self.beta_1), as_dtype(self.beta_2), as_dtype(eps), as_dtype(step)

    def step_with_l2(self, params, grads, n_coefs, penalty, kernels=None):
        """Add the L2 gradient ``penalty * W`` to ``grads`` and step; return ``penalty/2 ||W||^2``.

        ``W`` is the first ``n_coefs`` parameters (the weights). The same as
        :func:`~hdrnn.nn.regularization.add_l2` followed by :meth:`step`; with
        the compiled kernels the addition happens inside Adam's loop, which
        saves a pass over the weights and their gradient (bit-identical).
        ``kernels`` are the compiled kernels chosen for the run (None: NumPy).
        """
        kernels = self._compiled(kernels, params, grads)
        if kernels is None:
            term = add_l2(params[:n_coefs], grads[:n_coefs], penalty, self._scratch[:n_coefs])
            self.step(params, grads)
            return term
        squares = kernels.sum_of_squares(params[:n_coefs])  # before the update
        eps, step = self._next_step()
        constants = self._constants(params.dtype, eps, step)
        penalty_ = params.dtype.type(penalty)
        kernels.adam_step(
            params, grads, self.grad_sum, self.sq_grad_sum, constants, n_coefs, penalty_
        )
        return 0.5 * penalty * squares

    def step(self, params, grads, kernels=None):
        """Update ``params`` in place from the gradient ``grads``.

        ``kernels`` are the compiled kernels chosen for the run (None: the
        NumPy passes below; the compiled loop gives the same bits).
        """
        eps, step = self._next_step()
        b1, b2 = self.beta_1, self.beta_2
        kernels = self._compiled(kernels, params, grads)
        if kernels is not None:  # the same passes fused into one compiled loop (bit-identical)
            constants = self._constants(params.dtype, eps, step)
            no_l2 = 0, params.dtype.type(0)
            kernels.adam_step(params, grads, self.grad_sum, self.sq_grad_sum, constants, *no_l2)
            return
        s = self._scratch
        self.grad_sum *= b1
        self.grad_sum += grads
        np.multiply(grads, grads, out=s)
        self.sq_grad_sum *= b2
        self.sq_grad_sum += s
        np.sqrt(self.sq_grad_sum, out=s)
        s += eps
        np.divide(self.grad_sum, s, out=s)
        s *= step
        params -= s


OPTIMIZERS = {optimizer.__name__: optimizer for optimizer in (SGD, Adam)}
"""dict of str to type: the optimizers by class name, the ``kind`` model files record."""
