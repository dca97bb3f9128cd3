"""Stochastic optimizers that update a flat parameter vector in place.

Both follow scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer`` update
rules exactly, but work on the single flat parameter vector of
:mod:`hdrnn.nn.network` with one preallocated scratch buffer, so an update is
a handful of whole-array passes with no temporaries.
"""

import numpy as np


class SGD:
    """Stochastic gradient descent with (Nesterov) momentum.

    The update is ``v <- momentum * v - lr * g`` followed by ``p <- p + v``,
    or, with Nesterov's momentum, ``p <- p + momentum * v - lr * g``.

    Parameters
    ----------
    n_params : int
        Length of the flat parameter vector.
    dtype : numpy dtype
        Its dtype.
    learning_rate_init : float
        Initial step size.
    schedule : {"constant", "invscaling", "adaptive"}
        How the step size changes between epochs (see ``end_epoch`` and
        ``reduce_on_plateau``).
    momentum : float
        Momentum in [0, 1].
    nesterov : bool
        Whether to use Nesterov's momentum.
    power_t : float
        Exponent of the ``"invscaling"`` schedule.

    Attributes
    ----------
    learning_rate : float
        The current step size.
    velocity : ndarray of shape (n_params,)
        The momentum buffer.
    """

    def __init__(self, n_params, dtype, learning_rate_init, schedule, momentum, nesterov, power_t):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.schedule = schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros(n_params, dtype=dtype)
        self._scratch = np.empty(n_params, dtype=dtype)

    def step(self, params, grads):
        """Update ``params`` in place from the gradient ``grads``."""
        step = np.multiply(grads, self.learning_rate, out=self._scratch)  # lr * g
        self.velocity *= self.momentum
        self.velocity -= step
        if self.nesterov:
            params -= step
            step = np.multiply(self.velocity, self.momentum, out=self._scratch)
            params += step
        else:
            params += self.velocity

    def end_epoch(self, samples_seen):
        """Apply the ``"invscaling"`` decay ``lr = lr0 / (t + 1) ** power_t``."""
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (samples_seen + 1) ** self.power_t

    def reduce_on_plateau(self):
        """React to a plateau: return True to stop training.

        Only the ``"adaptive"`` schedule continues, dividing the step size by
        5, until it falls to 1e-6.
        """
        if self.schedule != "adaptive" or self.learning_rate <= 1e-6:
            return True
        self.learning_rate /= 5.0
        return False


class Adam:
    """Adam with bias correction (Kingma & Ba, 2014).

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, then
    ``p <- p - lr_t * m / (sqrt(v) + eps)`` with
    ``lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)``.

    Parameters
    ----------
    n_params : int
        Length of the flat parameter vector.
    dtype : numpy dtype
        Its dtype.
    learning_rate_init : float
        Step size.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float
        Added to ``sqrt(v)`` for numerical stability.

    Attributes
    ----------
    t : int
        Number of steps taken.
    m, v : ndarray of shape (n_params,)
        First and second moment estimates.
    """

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = np.zeros(n_params, dtype=dtype)
        self.v = np.zeros(n_params, dtype=dtype)
        self._scratch = np.empty(n_params, dtype=dtype)

    def step(self, params, grads):
        """Update ``params`` in place from the gradient ``grads``."""
        self.t += 1
        s = self._scratch
        # m += (1 - b1) (g - m) is b1 m + (1 - b1) g without a second temporary
        np.subtract(grads, self.m, out=s)
        s *= 1.0 - self.beta_1
        self.m += s
        # v += (1 - b2) (g^2 - v)
        np.multiply(grads, grads, out=s)
        s -= self.v
        s *= 1.0 - self.beta_2
        self.v += s
        lr_t = self.learning_rate * np.sqrt(1.0 - self.beta_2**self.t) / (1.0 - self.beta_1**self.t)
        np.sqrt(self.v, out=s)
        s += self.epsilon
        np.divide(self.m, s, out=s)
        s *= lr_t
        params -= s

    def end_epoch(self, samples_seen):
        """Adam keeps its step size from epoch to epoch."""

    def reduce_on_plateau(self):
        """Adam stops at a plateau: always returns True."""
        return True
