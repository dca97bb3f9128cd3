"""
Pipeline and GridSearchCV
=========================

:class:`~hdrnn.DigitMLPClassifier` is a scikit-learn estimator: it goes in
a ``Pipeline`` and is tuned by ``GridSearchCV`` like any other.
"""

# %%
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from hdrnn import DigitMLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

# %%
# Scale the raw 0-16 pixels inside the pipeline, then search the L2 penalty
# and the width of the hidden layer with 3-fold cross-validation.
pipe = make_pipeline(MinMaxScaler(), DigitMLPClassifier(random_state=0, max_iter=100, tol=1e-3))
grid = {
    "digitmlpclassifier__alpha": [1e-4, 1e-2],
    "digitmlpclassifier__hidden_layer_sizes": [(32,), (128, 64)],
}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_train, y_train)

# %%
# The cross-validated scores of each combination, and the winner on the test set.
results = pd.DataFrame(search.cv_results_)[["params", "mean_test_score", "rank_test_score"]]
print(results.sort_values("rank_test_score").to_string(index=False))
print(f"\nbest: {search.best_params_}, test accuracy {search.score(X_test, y_test):.3f}")
