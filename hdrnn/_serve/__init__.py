"""What ``hdrnn serve`` runs: a standard-library HTTP server (``server``), the
recogniser that reads and teaches a model through its public face
(``recognizer``), each browser's own taught copy (``sessions``) and the
lessons that teach it one at a time (``lessons``), the Host and Origin rules
(``addresses``), request deadlines and per-client connection limits
(``connections``), and the page's files (``web/``, package data).

May import: :mod:`hdrnn.persistence`, :mod:`hdrnn.preprocessing`,
:mod:`hdrnn.reading`, :mod:`hdrnn.pretrained`, :mod:`hdrnn.nn`,
:mod:`hdrnn.augmentation`, :mod:`hdrnn._utils` and :mod:`hdrnn.exceptions`.
Only the command line imports it.
"""
