"""PyTorch reducers: the base estimator with its declared hooks, AE and VAE, the one
training loop, the training options, and the networks (MLP, convolutional, the user's)."""
