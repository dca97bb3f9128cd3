"""The only module that imports private scikit-learn names.

A scikit-learn release that moves or renames one of these is then a
one-file fix.
"""

from urllib.request import Request

from sklearn.base import _fit_context
from sklearn.datasets import _openml
from sklearn.datasets._openml import OpenMLError
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call
from sklearn.utils.validation import _check_sample_weight

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # older releases have no callback API: offer nothing

    class CallbackSupportMixin:
        """Stand-in for ``sklearn.callback.CallbackSupportMixin`` before scikit-learn 1.9."""


def openml_description_url(data_id):
    """The URL scikit-learn's fetch_openml asks first: the data set's description."""
    url = _openml._DATA_INFO.format(data_id)
    # scikit-learn < 1.7 keeps the host apart, in _OPENML_PREFIX
    return url if "://" in url else getattr(_openml, "_OPENML_PREFIX", "") + url


def openml_urlopen(url, timeout):
    """Open an OpenML URL the way fetch_openml does (through its module's urlopen)."""
    request = Request(url)
    request.add_header("Accept-encoding", "gzip")
    return _openml.urlopen(request, timeout=timeout)  # looked up now: tests replace it


def callbacks_supported(estimator):
    """Whether this scikit-learn offers the callback API on ``estimator``."""
    return hasattr(estimator, "_init_callback_context")


__all__ = [
    "CallbackSupportMixin",
    "callbacks_supported",
    "Interval",
    "OpenMLError",
    "openml_description_url",
    "openml_urlopen",
    "Options",
    "StrOptions",
    "_check_partial_fit_first_call",
    "_check_sample_weight",
    "_fit_context",
]
