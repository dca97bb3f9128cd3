"""One training recipe, three implementations: hdrnn, MLPClassifier and PyTorch.

A recipe is a plain dict (see :func:`defaults_recipe`): network, batch size,
Adam's step size and schedule, initialisation, dropout, augmentation and L2
penalty. hdrnn runs it with its own parameters. PyTorch runs it with the
same initialisation rule, dropout, L2 gradient, per-epoch learning rate
(hdrnn's schedule object) and augmented batches (hdrnn's augmenter, in the
timed loop). MLPClassifier has no dropout, He initialisation or schedule
parameter: it gets the augmented data an epoch at a time (augmenting
counted in its time), the schedule's rate through its optimizer each epoch,
and runs without dropout; the race's report says so.

:func:`race` trains a contender until its accuracy on a held-out part of
the training set reaches each target, and reports the training seconds and
the *test* accuracy at that moment.
"""

import time

import numpy as np


def defaults_recipe(hidden, batch_size, epochs):
    """The recipe of both libraries' defaults (Adam 1e-3, Glorot, L2 1e-4)."""
    return dict(
        hidden=list(hidden),
        batch_size=batch_size,
        learning_rate=1e-3,
        schedule="constant",
        warmup_epochs=0,
        epochs=epochs,
        init="glorot",
        dropout=0.0,
        augment=None,
        alpha=1e-4,
    )


def _batch_size(recipe, n_samples):
    size = recipe["batch_size"]
    return min(200, n_samples) if size == "auto" else size


def _schedule(recipe):
    from hdrnn.nn import LearningRateSchedule

    return LearningRateSchedule(
        recipe["schedule"],
        recipe["learning_rate"],
        total_epochs=recipe["epochs"],
        warmup_epochs=recipe["warmup_epochs"],
    )


def _augmenter(recipe, batch_size, dtype):
    if not recipe["augment"]:
        return None
    from hdrnn.augmentation import Augmentation, BatchAugmenter

    config = Augmentation.preset(recipe["augment"], (28, 28))
    return BatchAugmenter(config, (28, 28), batch_size, dtype)


# ---------------------------------------------------------------- hdrnn


def hdrnn_estimator(recipe, seed):
    """The recipe as a DigitMLPClassifier."""
    from hdrnn import DigitMLPClassifier

    return DigitMLPClassifier(
        tuple(recipe["hidden"]),
        batch_size=recipe["batch_size"],
        learning_rate_init=recipe["learning_rate"],
        learning_rate=recipe["schedule"],
        warmup_epochs=recipe["warmup_epochs"],
        max_iter=recipe["epochs"],
        init=recipe["init"],
        dropout=recipe["dropout"],
        augment=recipe["augment"],
        alpha=recipe["alpha"],
        tol=0,
        random_state=seed,
    )


class _EpochHook:
    """A scikit-learn callback that shows each epoch's model to ``hook``; True stops the fit."""

    def __init__(self, hook):
        self.hook = hook

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch" or fitted_estimator is None:
            return False
        return self.hook(fitted_estimator.predict)


def _train_hdrnn(X, y, recipe, seed, hook):
    model = hdrnn_estimator(recipe, seed)
    model.set_callbacks(_EpochHook(hook))
    model.fit(X, y)


# -------------------------------------------------------- MLPClassifier


def _train_sklearn(X, y, recipe, seed, hook):
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        tuple(recipe["hidden"]),
        batch_size=recipe["batch_size"],
        learning_rate_init=recipe["learning_rate"],
        alpha=recipe["alpha"],
        random_state=np.random.RandomState(seed),
    )
    schedule, rng = _schedule(recipe), np.random.default_rng(seed)
    augmenter = _augmenter(recipe, 4096, X.dtype)
    classes = np.unique(y)
    for epoch in range(recipe["epochs"]):
        X_epoch = _augmented_copy(X, augmenter, rng) if augmenter else X
        if epoch:  # scikit-learn's Adam reads learning_rate_init at every step
            model._optimizer.learning_rate_init = schedule.rate(epoch, 0)
        else:
            model.learning_rate_init = schedule.rate(0, 0)
        model.partial_fit(X_epoch, y, classes=classes)
        if hook(model.predict):
            return


def _augmented_copy(X, augmenter, rng):
    out = X.copy()
    for start in range(0, len(out), 4096):
        augmenter(out[start : start + 4096], rng)
    return out


# -------------------------------------------------------------- PyTorch


def _torch_network(recipe, n_features, n_classes):
    import torch

    layers, fan_in = [], n_features
    for units in recipe["hidden"]:
        layers += [torch.nn.Linear(fan_in, units), torch.nn.ReLU()]
        if recipe["dropout"]:
            layers.append(torch.nn.Dropout(recipe["dropout"]))
        fan_in = units
    layers.append(torch.nn.Linear(fan_in, n_classes))
    for layer in layers:
        if isinstance(layer, torch.nn.Linear):
            _init_like_hdrnn(layer, recipe["init"])
    return torch.nn.Sequential(*layers)


def _init_like_hdrnn(layer, init):
    import torch

    fan_out, fan_in = layer.weight.shape
    with torch.no_grad():
        if init == "he":  # U(-b, b), b = sqrt(6 / fan_in); zero biases
            bound = (6.0 / fan_in) ** 0.5
            layer.bias.zero_()
        else:  # Glorot's uniform bound, for the weights and the biases (MLPClassifier)
            bound = (6.0 / (fan_in + fan_out)) ** 0.5
            layer.bias.uniform_(-bound, bound)
        layer.weight.uniform_(-bound, bound)


def torch_train(X, y, recipe, seed, hook=None):
    """Train the recipe in PyTorch: fused Adam, manual batching, the same L2 gradient.

    ``weight_decay = alpha / batch_size`` adds MLPClassifier's (and
    hdrnn's) L2 gradient ``alpha / n * W`` inside the fused kernel; PyTorch
    also decays the biases, which costs it nothing.
    """
    import torch

    torch.manual_seed(seed)
    batch_size = _batch_size(recipe, len(X))
    model = _torch_network(recipe, X.shape[1], 10)
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=recipe["learning_rate"],
        weight_decay=recipe["alpha"] / batch_size,
        fused=True,
    )
    schedule, rng = _schedule(recipe), np.random.default_rng(seed)
    augmenter = _augmenter(recipe, batch_size, np.float32)
    loss_fn = torch.nn.CrossEntropyLoss()
    X = np.ascontiguousarray(X, dtype=np.float32)
    y_t = torch.from_numpy(y.astype(np.int64))
    batch = np.empty((batch_size, X.shape[1]), dtype=np.float32)
    for epoch in range(recipe["epochs"]):
        for group in optimizer.param_groups:
            group["lr"] = schedule.rate(epoch, 0)
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            rows = order[start : start + batch_size]
            X_batch = X.take(rows, axis=0, out=batch[: len(rows)], mode="clip")
            if augmenter is not None:
                augmenter(X_batch, rng)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(torch.from_numpy(X_batch)), y_t[rows])
            loss.backward()
            optimizer.step()
        if hook is not None and hook(_torch_predictor(model)):
            break
    return model


def _torch_predictor(model):
    import torch

    def predict(X):
        model.eval()
        with torch.no_grad():
            labels = model(torch.from_numpy(np.ascontiguousarray(X, np.float32))).argmax(1)
        model.train()
        return labels.numpy()

    return predict


# ----------------------------------------------------------------- race

TRAINERS = {
    "hdrnn": _train_hdrnn,
    "hdrnn NumPy only": _train_hdrnn,
    "MLPClassifier": _train_sklearn,
    "PyTorch": torch_train,
}


def race(data, contender, recipe, seed, targets, held_out, max_seconds):
    """Train until the held-out accuracy reaches every target, or time runs out.

    The last ``held_out`` rows of a fixed shuffle of the training set are
    held out; the contender trains on the rest. After every epoch (untimed)
    the held-out accuracy is measured; the first time it reaches a target,
    the training seconds so far and the *test* accuracy are recorded.

    Returns
    -------
    result : dict
        ``reached``: for each target (as a string), ``{"seconds", "epoch",
        "test_accuracy"}`` or None; ``curve``: ``[epoch, seconds,
        held-out accuracy]`` per epoch; ``final_test_accuracy``.
    """
    order = np.random.RandomState(0).permutation(len(data.X_train))
    train, check = order[:-held_out], order[-held_out:]
    X, y = data.X_train[train], data.y_train[train]
    X_check, y_check = data.X_train[check], data.y_train[check]
    state = {"hook_seconds": 0.0, "curve": [], "reached": dict.fromkeys(map(str, targets))}
    started = time.perf_counter()

    def hook(predict):
        hook_started = time.perf_counter()
        seconds = hook_started - started - state["hook_seconds"]
        accuracy = float(np.mean(predict(X_check) == y_check))
        state["curve"].append([len(state["curve"]) + 1, seconds, accuracy])
        for target in targets:
            if state["reached"][str(target)] is None and accuracy >= target:
                test = float(np.mean(predict(data.X_test) == data.y_test))
                state["reached"][str(target)] = {
                    "seconds": seconds,
                    "epoch": len(state["curve"]),
                    "test_accuracy": test,
                }
        state["final_test_accuracy"] = float(np.mean(predict(data.X_test) == data.y_test))
        state["hook_seconds"] += time.perf_counter() - hook_started
        done = all(value is not None for value in state["reached"].values())
        return done or seconds > max_seconds

    TRAINERS[contender](X, y, recipe, seed, hook)
    return {key: state[key] for key in ("reached", "curve", "final_test_accuracy")}
