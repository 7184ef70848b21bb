"""Peer: dimred's VAE beside pythae 0.1.2's, same network, data, optimiser and epochs.

On dynamically binarised MNIST, each library trains the same network for the same
number of epochs with Adam at a constant 1e-3 and batches of 100:

- ``--network mlp``: Burda et al. (2015)'s VAE, 784-200-200-50, tanh;
- ``--network conv``: a convolutional VAE, two stride-2 convolutions (32, 64 channels,
  kernel 4) to a 16-dimensional code, mirrored by transposed convolutions: the same
  torch modules handed to both libraries (dimred's ``encoder=`` / ``decoder=``).

Prints, for both, the training samples per second and the test NLL by each library's
own k-sample importance-weighted estimator, on the same test images binarised once
with seed 0. Each run also times a ceiling that no library can pass with the same
torch kernels: a bare torch loop over the same modules (forward, the negative ELBO,
backward, fused Adam) on batches binarised once beforehand, so with no data path at
all. Its speed over pythae's is the most any library's training loop could gain.
``--bare-channels-last`` converts the bare loop's modules to channels-last, the one lever
left beyond the loop: the kernels' layout.

``--pairs N`` runs N rounds of the three (dimred, pythae, the bare loop), rotating which
runs first, and reports the median ratios over pythae and their range.

pythae is never a dependency of dimred; it lives in the nox session's own environment:

    nox -s peer_pythae -- --network conv --epochs 2 --pairs 3 --k 100 --threads 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
import time

import numpy as np
import torch
from pythae.data.datasets import BaseDataset, DatasetOutput
from pythae.models import VAE as PythaeVAE
from pythae.models import VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from pythae.trainers import BaseTrainer, BaseTrainerConfig

from dimred import VAE
from dimred.datasets import load_mnist

N_LATENT, HIDDEN = 50, (200, 200)
N_LATENT_CONV = 16


def tanh_mlp(widths: list[int]) -> torch.nn.Sequential:
    layers = []
    for n_in, n_out in itertools.pairwise(widths):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers)


class Encoder(BaseEncoder):
    def __init__(self):
        super().__init__()
        self.body = tanh_mlp([784, *HIDDEN])
        self.mean = torch.nn.Linear(HIDDEN[-1], N_LATENT)
        self.log_variance = torch.nn.Linear(HIDDEN[-1], N_LATENT)

    def forward(self, x):
        h = self.body(x.reshape(x.shape[0], -1))
        return ModelOutput(embedding=self.mean(h), log_covariance=self.log_variance(h))


class Decoder(BaseDecoder):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(tanh_mlp([N_LATENT, *HIDDEN[::-1]]),
                                        torch.nn.Linear(HIDDEN[0], 784), torch.nn.Sigmoid())

    def forward(self, z):
        return ModelOutput(reconstruction=self.body(z))


def conv_encoder_body() -> torch.nn.Sequential:
    """(batch, 784) -> (batch, 64 * 7 * 7): two stride-2 convolutions."""
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 28, 28)),
        torch.nn.Conv2d(1, 32, 4, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 4, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten())


def conv_decoder_body() -> torch.nn.Sequential:
    """(batch, N_LATENT_CONV) -> (batch, 784) logits: the encoder mirrored."""
    return torch.nn.Sequential(
        torch.nn.Linear(N_LATENT_CONV, 64 * 7 * 7), torch.nn.ReLU(),
        torch.nn.Unflatten(1, (64, 7, 7)),
        torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
        torch.nn.Flatten())


class ConvEncoder(BaseEncoder):
    def __init__(self):
        super().__init__()
        self.body = conv_encoder_body()
        self.head = torch.nn.Linear(64 * 7 * 7, 2 * N_LATENT_CONV)

    def forward(self, x):
        mean, log_variance = self.head(self.body(x.reshape(x.shape[0], -1))).chunk(2, dim=1)
        return ModelOutput(embedding=mean, log_covariance=log_variance)


class ConvDecoder(BaseDecoder):
    def __init__(self):
        super().__init__()
        self.body = conv_decoder_body()

    def forward(self, z):
        return ModelOutput(reconstruction=torch.sigmoid(self.body(z)))


class DynamicallyBinarised(BaseDataset):
    """Grey levels in [0, 1], each item drawn afresh as Bernoulli pixels when read."""

    def __getitem__(self, index):
        return DatasetOutput(data=torch.bernoulli(self.data[index]), labels=self.labels[index])


def figures(n_samples_seen: int, fit_seconds: float, test_nll: float,
            evaluation_start: float) -> dict:
    return {"fit_seconds": fit_seconds, "samples_per_second": n_samples_seen / fit_seconds,
            "test_nll": test_nll, "evaluation_seconds": time.perf_counter() - evaluation_start}


def bare_networks(network: str) -> tuple[torch.nn.Module, torch.nn.Module, int]:
    """The encoder (to the mean and log-variance, side by side), the decoder (to logits)
    and the code size that both libraries train."""
    if network == "conv":
        return (torch.nn.Sequential(conv_encoder_body(),
                                    torch.nn.Linear(64 * 7 * 7, 2 * N_LATENT_CONV)),
                conv_decoder_body(), N_LATENT_CONV)
    encoder = torch.nn.Sequential(tanh_mlp([784, *HIDDEN]),
                                  torch.nn.Linear(HIDDEN[-1], 2 * N_LATENT))
    decoder = torch.nn.Sequential(tanh_mlp([N_LATENT, *HIDDEN[::-1]]),
                                  torch.nn.Linear(HIDDEN[0], 784))
    return encoder, decoder, N_LATENT


def train_bare(X_train: np.ndarray, X_test: np.ndarray, args) -> dict:
    """The ceiling: the same modules trained by a bare torch loop on batches binarised
    once beforehand. No test NLL: it measures speed only."""
    torch.manual_seed(args.seed)
    encoder, decoder, _ = bare_networks(args.network)
    if args.bare_channels_last:
        encoder.to(memory_format=torch.channels_last)
        decoder.to(memory_format=torch.channels_last)
    parameters = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3, fused=True)
    data = torch.bernoulli(torch.from_numpy(X_train))
    start = time.perf_counter()
    for _ in range(args.epochs):
        for batch in data[torch.randperm(len(data))].split(100):
            mean, log_variance = encoder(batch).chunk(2, dim=1)
            z = mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)
            reconstruction = torch.nn.functional.binary_cross_entropy_with_logits(
                decoder(z), batch, reduction="none").sum(1)
            kl = 0.5 * (mean**2 + log_variance.exp() - 1 - log_variance).sum(1)
            optimizer.zero_grad(set_to_none=True)
            (reconstruction + kl).mean().backward()
            optimizer.step()
    fit_seconds = time.perf_counter() - start
    return figures(args.epochs * len(X_train), fit_seconds, float("nan"), time.perf_counter())


def train_pythae(X_train: np.ndarray, X_test: np.ndarray, args) -> dict:
    torch.manual_seed(args.seed)
    if args.network == "conv":
        latent, encoder, decoder = N_LATENT_CONV, ConvEncoder(), ConvDecoder()
    else:
        latent, encoder, decoder = N_LATENT, Encoder(), Decoder()
    model = PythaeVAE(VAEConfig(input_dim=(784,), latent_dim=latent, reconstruction_loss="bce"),
                      encoder=encoder, decoder=decoder)
    data = torch.from_numpy(X_train)
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = BaseTrainer(
            model,
            DynamicallyBinarised(data, torch.zeros(len(data))),
            training_config=BaseTrainerConfig(
                output_dir=output_dir, num_epochs=args.epochs, learning_rate=1e-3,
                per_device_train_batch_size=100, optimizer_cls="Adam", seed=args.seed,
                # No evaluation set (the test set must not pick the model), so the model
                # pythae keeps is the one with the best training loss.
                keep_best_on_train=True, no_cuda=True),
        )
        start = time.perf_counter()
        trainer.train()
        fit_seconds = time.perf_counter() - start
    trained = trainer._best_model.eval()  # pythae's attribute for the model it keeps
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    with torch.no_grad():
        log_likelihood = trained.get_nll(torch.from_numpy(X_test), n_samples=args.k)
    return figures(args.epochs * len(X_train), fit_seconds, -float(log_likelihood), start)


def train_dimred(X_train: np.ndarray, X_test: np.ndarray, args) -> dict:
    torch.manual_seed(args.seed)
    if args.network == "conv":  # the same modules as pythae's, the heads as one Linear
        encoder, decoder, latent = bare_networks("conv")
        network = {"n_components": latent, "encoder": encoder, "decoder": decoder}
    else:
        network = {"n_components": N_LATENT, "hidden_layer_sizes": HIDDEN,
                   "activation": "tanh"}
    vae = VAE(likelihood="bernoulli", dynamic_binarization=True, max_epochs=args.epochs,
              batch_size=100, learning_rate=1e-3, learning_rate_schedule="constant",
              random_state=args.seed, device="cpu", **network)
    start = time.perf_counter()
    vae.fit(X_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    log_likelihood = vae.log_likelihood(X_test, n_importance_samples=args.k, random_state=args.seed)
    return figures(args.epochs * len(X_train), fit_seconds, -float(log_likelihood.mean()), start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=["mlp", "conv"], default="mlp")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bare-channels-last", action="store_true",
                        help="train the bare loop's modules in channels-last layout")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("pythae").setLevel(logging.WARNING)

    mnist = load_mnist()
    X_train = mnist.X_train.astype(np.float32)
    X_test = np.random.default_rng(0).binomial(1, mnist.X_test[: args.n_test]).astype(np.float32)
    # torch imports its compiler (torch._dynamo, about 2 s) the first time an optimiser
    # is built in a process: paid here, so that no contestant's timing carries it.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    trainers = {"dimred": train_dimred, "pythae": train_pythae, "bare torch": train_bare}
    pairs = []
    for pair in range(args.pairs):
        # Rotate which runs first, so that none always meets a cold or a warm machine.
        order = [*trainers][pair % 3:] + [*trainers][: pair % 3]
        measured = {name: trainers[name](X_train, X_test, args) for name in order}
        pythae_speed = measured["pythae"]["samples_per_second"]
        measured["samples_per_second_ratio"] = (measured["dimred"]["samples_per_second"]
                                                / pythae_speed)
        measured["ceiling_ratio"] = measured["bare torch"]["samples_per_second"] / pythae_speed
        pairs.append(measured)
        print(json.dumps({"pair": pair, "order": order, **measured}), flush=True)
    ratios = [pair["samples_per_second_ratio"] for pair in pairs]
    ceilings = [pair["ceiling_ratio"] for pair in pairs]
    print(json.dumps({"network": args.network, "epochs": args.epochs, "pairs": args.pairs,
                      "n_train": len(X_train), "n_test": len(X_test), "k": args.k,
                      "threads": args.threads, "torch": torch.__version__,
                      "bare_channels_last": args.bare_channels_last,
                      "median_ratio": float(np.median(ratios)),
                      "ratio_range": [min(ratios), max(ratios)],
                      "median_ceiling_ratio": float(np.median(ceilings)),
                      "ceiling_ratio_range": [min(ceilings), max(ceilings)]}, indent=2))


if __name__ == "__main__":
    main()
