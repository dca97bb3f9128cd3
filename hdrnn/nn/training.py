"""Old home of ``PlateauTracker``, kept so that pickles of hdrnn 0.1 still load.

``pickle`` and ``joblib`` files name the classes they hold by module path;
the epoch loop now lives in :mod:`hdrnn.nn.epochs`.
"""

from hdrnn.nn.epochs import PlateauTracker

__all__ = ["PlateauTracker"]
