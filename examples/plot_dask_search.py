"""
A hyperparameter search on a dask cluster
=========================================

scikit-learn's searches run their fits through joblib, and joblib's
``"dask"`` backend sends them to a ``dask.distributed`` cluster. Here the
cluster is one worker in this process running two fits at a time, so that
the example runs anywhere; the same code drives a cluster of many machines.
Needs the ``distributed`` extra: ``pip install "hdrnn[distributed]"``.
"""

# %%
import logging
import time
import warnings

import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from hdrnn import DigitMLPClassifier
from hdrnn.distributed import limit_blas_threads, search_data

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)

# %%
# Start a cluster and connect to it. On a real cluster, start ``dask scheduler``
# on one machine and ``dask worker tcp://SCHEDULER:8786`` on the others (with
# hdrnn installed), then connect with ``Client("tcp://SCHEDULER:8786")``.
# Worker *processes* (``processes=True``, the default) re-import the script that
# starts them: put such a script's code under ``if __name__ == "__main__":``.
cluster = LocalCluster(
    n_workers=1,
    threads_per_worker=2,
    processes=False,
    dashboard_address=":0",
    silence_logs=logging.ERROR,
)
client = Client(cluster)

# %%
# Two fits at once, each with a BLAS using every core, would run twice as many
# busy threads as there are cores. ``limit_blas_threads`` gives each worker's
# BLAS its share of its machine: here each fit gets half the cores.
print(limit_blas_threads(client))

# %%
# ``search_data`` fixes the folds and lists every array the fits read, so that
# each is sent to every worker once (``scatter``): a worker that dies loses no
# data, and the search finishes on the others.
grid = {"hidden_layer_sizes": [(32,), (64,), (128,)], "alpha": [1e-4, 1e-3, 1e-2]}
splits, scatter = search_data(X, y, cv=3)
search = GridSearchCV(DigitMLPClassifier(max_iter=60, random_state=0), grid, cv=splits)
start = time.perf_counter()
with joblib.parallel_config(backend="dask", scatter=scatter):
    search.fit(X, y)
print(f"{len(search.cv_results_['params'])} candidates in {time.perf_counter() - start:.1f} s")
print("best:", search.best_params_, f"{search.best_score_:.3f}")

# %%
# The cluster changes where the fits run, not what they compute: the same
# search without dask gives the same scores.
at_home = GridSearchCV(DigitMLPClassifier(max_iter=60, random_state=0), grid, cv=splits)
at_home.fit(X, y)
print(np.array_equal(at_home.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]))

# %%
scores = search.cv_results_["mean_test_score"].reshape(3, 3)  # alpha x hidden
fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(3), [str(h) for h in grid["hidden_layer_sizes"]])
ax.set_yticks(range(3), [str(a) for a in grid["alpha"]])
ax.set_xlabel("hidden_layer_sizes")
ax.set_ylabel("alpha")
for (row, col), value in np.ndenumerate(scores):
    ax.text(col, row, f"{value:.3f}", ha="center", va="center", color="white")
fig.colorbar(image, label="mean cross-validated accuracy")
ax.set_title("Grid search on a dask cluster")

# %%
client.close()
cluster.close()
