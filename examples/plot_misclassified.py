"""
The digits it gets wrong
========================

Looking at the mistakes says more than the accuracy: many are digits a
person would hesitate over too.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from hdrnn import DigitMLPClassifier
from hdrnn.plotting import plot_digits

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=1, stratify=y)
clf = DigitMLPClassifier((64,), random_state=0, tol=1e-3).fit(X_train, y_train)
y_pred = clf.predict(X_test)
wrong = y_pred != y_test
print(f"{wrong.sum()} of {len(y_test)} test digits misclassified")

# %%
# Each panel shows the true label and the prediction.
plot_digits(X_test[wrong], y_test[wrong], y_pred[wrong], n_images=20)
plt.show()
