"""Old home of the training state, kept so that pickles of hdrnn 0.1 still load.

``pickle`` and ``joblib`` files name the classes they hold by module path;
``TrainingState`` now lives in :mod:`hdrnn._training.state`.
"""

from hdrnn._training.state import TrainingState

__all__ = ["TrainingState"]
