"""
The NumPy core without scikit-learn
===================================

Under the estimator is :mod:`hdrnn.nn`: a multilayer perceptron as plain
functions over NumPy arrays. This example trains a network with it directly,
one mini-batch at a time, the way a textbook would write the loop.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from hdrnn.nn import (
    Adam,
    Architecture,
    Workspace,
    init_params,
    loss_and_grads,
    predict_logits,
    unflatten,
)

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
Y = np.eye(10, dtype=np.float32)[y]  # one-hot targets

# %%
# A 64-32-10 network: the architecture, one flat parameter vector, buffers
# for batches of 64 and an Adam optimizer that updates the vector in place.
arch = Architecture((64, 32, 10), activation="relu", output="softmax")
rng = np.random.RandomState(0)
params = init_params(arch, rng, np.float32)
workspace = Workspace(arch, batch_size=64, dtype=np.float32)
adam = Adam(arch.n_params, np.float32, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8)

# %%
# The training loop: shuffle, then for each batch the forward pass, the loss
# and its gradient by backpropagation (``loss_and_grads``), and one Adam step.
losses = []
for _ in range(30):
    order = rng.permutation(len(X))
    epoch_loss = 0.0
    for start in range(0, len(X), 64):
        rows = order[start : start + 64]
        loss, grads = loss_and_grads(
            arch, params, X[rows], Y[rows], workspace=workspace, alpha=1e-4
        )
        adam.step(params, grads)
        epoch_loss += loss * len(rows)
    losses.append(epoch_loss / len(X))

coefs, intercepts = unflatten(arch, params)  # views of params, layer by layer
accuracy = (predict_logits(arch, X, coefs, intercepts).argmax(axis=1) == y).mean()
print(f"training accuracy after 30 epochs: {accuracy:.3f}")

# %%
plt.plot(losses)
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.show()
