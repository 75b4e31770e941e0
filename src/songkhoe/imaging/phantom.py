"""Synthetic chest films ("phantoms") and the demonstration model trained on them.

A phantom is a frontal chest film drawn from simple shapes: the body, two dark lung fields, the
mediastinum and spine, faint ribs, smooth and grainy noise; half of them carry a nodule-like
blob (a Gaussian bump) at a random place inside a lung. No real patient and no download is
involved; the demonstration model learns nodule / no nodule in seconds and is labelled everywhere
as not for clinical use. Drawing needs NumPy only; training needs PyTorch (the `train` extra).
"""

from dataclasses import dataclass

import numpy as np

from songkhoe.imaging.preprocess import model_input


@dataclass(frozen=True, slots=True)
class Phantoms:
    films: np.ndarray  # (n, height, width) float32 in 0..1, bright = dense
    labels: np.ndarray  # (n,) 1 where there is a nodule
    centres: np.ndarray  # (n, 2) the nodule's (row, column) in pixels; -1 without one
    radius: np.ndarray  # (n,) the nodule's radius in pixels (2 sigma); 0 without one


def _ellipse(rows: np.ndarray, cols: np.ndarray, cy, cx, ry, rx) -> np.ndarray:
    return ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1.0


def _smooth_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    coarse = rng.normal(0, 1, (8, 8))
    rows = np.linspace(0, 7, height)[:, None]
    cols = np.linspace(0, 7, width)[None, :]
    r0, c0 = np.floor(rows).astype(int).clip(0, 6), np.floor(cols).astype(int).clip(0, 6)
    fr, fc = rows - r0, cols - c0
    top = coarse[r0, c0] * (1 - fc) + coarse[r0, c0 + 1] * fc
    bottom = coarse[r0 + 1, c0] * (1 - fc) + coarse[r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


def draw(
    n: int,
    *,
    height: int = 128,
    width: int | None = None,
    seed: int = 0,
    positive_fraction: float = 0.5,
) -> Phantoms:
    """`n` phantom films; a film wider than tall keeps its chest in the central square."""
    width = width or height
    rng = np.random.default_rng(seed)
    side = min(height, width)
    offset = (width - side) / 2
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    films = np.empty((n, height, width), np.float32)
    labels = (rng.random(n) < positive_fraction).astype(np.int64)
    centres = np.full((n, 2), -1.0)
    radius = np.zeros(n)
    for i in range(n):
        s = side * rng.uniform(0.92, 1.05)
        cx = offset + side / 2 + rng.normal(0, side * 0.015)
        cy = side * 0.5 + rng.normal(0, side * 0.015)
        film = np.full((height, width), rng.uniform(0.05, 0.12), np.float32)
        film[_ellipse(rows, cols, cy, cx, 0.47 * s, 0.42 * s)] = rng.uniform(0.5, 0.6)
        lungs = []
        for sign in (-1, 1):
            ly, lx = cy - 0.02 * s, cx + sign * 0.19 * s
            ry, rx = 0.30 * s * rng.uniform(0.93, 1.07), 0.13 * s * rng.uniform(0.93, 1.07)
            lungs.append((ly, lx, ry, rx))
            film[_ellipse(rows, cols, ly, lx, ry, rx)] = rng.uniform(0.18, 0.26)
        film[_ellipse(rows, cols, cy + 0.05 * s, cx, 0.30 * s, 0.06 * s)] = rng.uniform(0.7, 0.8)
        ribs = 0.05 * np.sin(2 * np.pi * rows / (s * rng.uniform(0.09, 0.11)) + rng.uniform(0, 6))
        film += ribs * (np.abs(cols - cx) > 0.07 * s)
        film += 0.05 * _smooth_noise(rng, height, width)
        if labels[i]:
            ly, lx, ry, rx = lungs[rng.integers(2)]
            angle, dist = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0, 1)) * 0.65
            by, bx = ly + dist * ry * np.sin(angle), lx + dist * rx * np.cos(angle)
            sigma = side * rng.uniform(0.035, 0.05)
            film += rng.uniform(0.25, 0.4) * np.exp(
                -((rows - by) ** 2 + (cols - bx) ** 2) / (2 * sigma**2)
            )
            centres[i], radius[i] = (by, bx), 2 * sigma
        film += rng.normal(0, 0.02, film.shape)
        films[i] = np.clip(film, 0.0, 1.0)
    return Phantoms(films, labels, centres, radius)


def model_inputs(films: np.ndarray, size: int) -> np.ndarray:
    """Phantom films (0..1) through the model's own preprocessing, (n, 1, size, size)."""
    return np.stack([model_input(f, 1.0, size)[0] for f in films])


def train(*, size: int = 64, films: int = 800, epochs: int = 6, seed: int = 0):
    """The demonstration CNN (a `networks.PhantomNet`), trained on phantoms in a few seconds.
    Its batch-norm statistics are recomputed over the whole training set at the end (running
    averages of a few short epochs are too noisy to evaluate with)."""
    import torch

    from songkhoe.imaging.networks import PhantomNet

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: one thread is fastest, and shares the CPU
    torch.manual_seed(seed)
    data = draw(films, height=2 * size, seed=seed)
    x = torch.from_numpy(model_inputs(data.films, size))
    y = torch.from_numpy(data.labels.astype(np.float32))[:, None]
    net = PhantomNet(num_classes=1)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=generator).split(64):
            optimiser.zero_grad()
            loss_fn(net(x[batch]), y[batch]).backward()
            optimiser.step()
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches below
    with torch.no_grad():
        for batch in torch.arange(len(x)).split(200):
            net(x[batch])
    torch.set_num_threads(threads)
    return net.eval()
