"""Read whole handwritten numbers from an image: segmentation by recognition.

Its job: find the lines of digits on an image, cut each line into digits
where the classifier is most sure of the result, and say what every digit
is, how sure the model is and where it was found. :func:`read_number` is
the one entry point; it returns a :class:`Reading` (one
:class:`LineReading` per line, one :class:`DigitReading` per digit).

How (each step its own private module):

1. ``_layout``: the ink comes from :func:`hdrnn.preprocessing.find_ink`
   (the same path as ``hdrnn predict`` and ``serve``: paper flattened,
   specks, ruled lines and a frame removed). Its connected strokes are
   labelled; pieces of one digit that sit over each other (a 5's floating
   bar, a 4 in two strokes) are merged, underlines and specks dropped, and
   what is left is grouped into lines by height on the page.
2. ``_pieces``: each line is cut into *pieces*: whole strokes, and inside a
   stroke wider than a digit, cuts along the top-to-bottom paths that cross
   the least ink (a path may bend around an overhanging stroke).
   Every run of neighbouring pieces no wider than a digit can be is a
   candidate digit; all candidates of the image are prepared the MNIST way
   (:func:`hdrnn.preprocessing.prepare_ink`) and classified in one batched
   ``predict_proba`` call.
3. ``_verifier``: a second shipped model (``load_pretrained("segments")``)
   says how likely each candidate is to be one whole digit rather than a
   part of one or pieces of two; it learned that from reading's own
   candidates (``build``: ``python -m hdrnn.reading.build`` rebuilds it).
4. ``_strips``: a third shipped model (``load_pretrained("strips")``)
   reads a stroke wider than a digit without cutting it: a window slides
   along the stroke and the model says, at each column, which digit is
   centred there or none (touching or overlapping digits, whose strokes no
   cut separates); ``_strip_lessons`` makes its lessons and
   ``build --model strips`` rebuilds it.
5. ``_search``: the best way to read the line is the path of candidates
   with the highest total score (the log of the classifier's probability
   and of the verifier's, plus a prior on the candidate's width and
   height; a stroke read by the strip reader counts as all its digits),
   found by dynamic programming over the cuts; ``digits=N`` fixes the
   number of digits.

The work is bounded: the ink is analysed on a copy of at most 400 pixels a
side, each stroke gets a bounded number of cuts, and a candidate spans a
bounded number of pieces, so the candidates grow linearly with the ink.

:func:`read_grid` reads a ruled grid instead (a Sudoku, a form's boxes):
``_grid`` finds the grid by its long straight lines, cuts each cell inside
them and reads one digit per cell with ink, in one batched call; empty
cells read as ``"."``. It returns a :class:`GridReading`, a
:class:`Reading` whose lines are the grid's rows.

May import: hdrnn.preprocessing, hdrnn.estimator, hdrnn.pretrained,
hdrnn._utils, hdrnn.exceptions; the build script also hdrnn.datasets and
hdrnn.persistence (it composes numbers and saves the verifier).
"""

from hdrnn.reading._api import read_number
from hdrnn.reading._grid import EmptyCell, GridReading, read_grid
from hdrnn.reading._results import DigitReading, LineReading, Reading

__all__ = [
    "DigitReading",
    "EmptyCell",
    "GridReading",
    "LineReading",
    "Reading",
    "read_grid",
    "read_number",
]
