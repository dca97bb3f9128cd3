"""Training presets: measured MNIST recipes, from MLPClassifier's defaults to 99%+.

Each preset is a set of :class:`~hdrnn.DigitMLPClassifier` parameters with
the test accuracy and training time it gave on MNIST (60 000 training
digits, 10 000 test digits, 2 CPU cores, seeds 0, 1 and 2):
``benchmarks/presets.md`` has the runs behind the numbers, written by
``benchmarks/presets.py`` (and ``benchmarks/recipe.py`` for ``accurate``);
``benchmarks/race.md`` says how fast each reaches its target.
``hdrnn train --dataset mnist --preset NAME`` uses the same presets; in
Python::

    from hdrnn import DigitMLPClassifier
    from hdrnn.presets import preset_params

    clf = DigitMLPClassifier(**preset_params("fast98"), random_state=0)

Any parameter can still be changed: ``preset_params("fast99", max_iter=20)``.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    """A named recipe and what it gave.

    Parameters
    ----------
    name : str
        The preset's name.
    params : dict
        Parameters of :class:`~hdrnn.DigitMLPClassifier`.
    measured : str
        Test accuracy (the median of three seeds, and their range) and
        training time (the median) on MNIST, as ``benchmarks/presets.md``
        records them.
    summary : str
        What the recipe is, in a few words.
    """

    name: str
    params: dict = field(repr=False)
    measured: str
    summary: str


# `measured` is copied from benchmarks/presets.md (which the package does not ship);
# tests/test_claims.py fails when the two disagree.
PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            "default",
            dict(hidden_layer_sizes=(128, 64), max_iter=20),
            measured="median 97.79% of seeds 0-2, range 97.64-97.80%, in 6.4 s",
            summary="MLPClassifier's maths and defaults, 20 epochs",
        ),
        Preset(
            "fast98",
            dict(
                hidden_layer_sizes=(256, 128),
                init="he",
                batch_size=256,
                learning_rate_init=0.003,
                learning_rate="cosine",
                max_iter=4,
                tol=0,
            ),
            measured="median 98.20% of seeds 0-2, range 97.92-98.24%, in 1.8 s",
            summary="784-256-128, He init, batches of 256, cosine decay over 4 epochs",
        ),
        Preset(
            "fast99",
            dict(
                hidden_layer_sizes=(1024, 512),
                init="he",
                dropout=0.2,
                augment="affine",
                batch_size=256,
                learning_rate_init=0.002,
                learning_rate="cosine",
                warmup_epochs=1,
                max_iter=12,
                tol=0,
            ),
            measured="median 99.07% of seeds 0-2, range 99.02-99.18%, in 36.1 s",
            summary="784-1024-512, dropout 0.2, affine distortions, cosine decay over 12 epochs",
        ),
        Preset(
            "accurate",
            dict(
                hidden_layer_sizes=(800, 800),
                init="he",
                dropout=0.2,
                augment="elastic",
                batch_size=128,
                learning_rate="cosine",
                warmup_epochs=2,
                max_iter=50,
                tol=0,
            ),
            measured="median 99.28% of seeds 0-2, range 99.27-99.32%, in 3.3 min",
            summary="784-800-800, dropout 0.2, elastic distortions, cosine decay over 50 epochs",
        ),
    )
}
"""dict of str to Preset: the presets, by name."""


def preset_params(name, **overrides):
    """Return the parameters of preset ``name``, updated with ``overrides``.

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`: ``"default"``, ``"fast98"``, ``"fast99"``
        or ``"accurate"``.
    **overrides
        Parameters to change, e.g. ``max_iter=30``.

    Returns
    -------
    params : dict
        Keyword arguments for :class:`~hdrnn.DigitMLPClassifier`.

    Examples
    --------
    >>> from hdrnn.presets import preset_params
    >>> preset_params("fast98")["hidden_layer_sizes"]
    (256, 128)
    >>> preset_params("default", max_iter=5)["max_iter"]
    5
    """
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}; expected one of {sorted(PRESETS)}. "
            "See hdrnn.presets.PRESETS for what each gives."
        )
    return {**PRESETS[name].params, **overrides}
