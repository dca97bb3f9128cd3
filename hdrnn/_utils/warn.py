"""Warnings that point at the user's line, wherever inside hdrnn they are raised.

``warnings.warn(..., stacklevel=n)`` needs the number of frames between the
warning and the user's code, which changes whenever a call passes through
another function, ``Pipeline`` or ``GridSearchCV``. :func:`warn` counts
them instead: it names the first frame outside hdrnn, scikit-learn and
joblib, which is the line of the user's code that led to the warning.
"""

import os
import sys
import warnings

import joblib
import sklearn

_INTERNAL_FOLDERS = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sys.modules[__name__.partition(".")[0]], sklearn, joblib)
)


def warn(message, category=UserWarning):
    """Issue a warning attributed to the user's line of code.

    Parameters
    ----------
    message : str or Warning
        The message, or a warning instance (then ``category`` is ignored).
    category : type, default=UserWarning
        The warning's class.
    """
    level, frame = 2, sys._getframe(1)  # stacklevel 2 names the caller of warn()
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL_FOLDERS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
