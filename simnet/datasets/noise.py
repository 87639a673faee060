"""Label-noise injection following the LE-SDE label-corruption protocol."""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from .._validation import check_enum, check_float
from ..errors import ConfigError
from ..seeding import SeedLike, as_seed_sequence
from ._base import PER_SAMPLE, Dataset

__all__ = ["LabelNoiseMode", "add_label_noise"]

_EPS = 1e-9


class LabelNoiseMode(StrEnum):
    """How a selected label is replaced.

    ``UNIFORM_OTHER``: by one of the other K - 1 classes, spread as evenly as
    possible (LE-SDE's protocol). ``UNIFORM``: by a class drawn uniformly from all K
    (so about 1/K of the selected labels stay unchanged).
    """

    UNIFORM_OTHER = "uniform_other"
    UNIFORM = "uniform"


def add_label_noise(
    dataset: Dataset,
    rate: float,
    *,
    seed: SeedLike = None,
    mode: str | LabelNoiseMode = LabelNoiseMode.UNIFORM_OTHER,
) -> Dataset:
    """A copy of ``dataset`` with a share ``rate`` of each class's labels resampled.

    Parameters
    ----------
    dataset : Dataset
        Not modified.
    rate : float in [0, 1]
        Share of the samples of each class whose label is resampled.
    seed : int, SeedSequence, Generator or None
        Randomness of the selection and of the new labels.
    mode : {"uniform_other", "uniform"} or LabelNoiseMode
        ``"uniform_other"`` gives each selected sample a different class, spread
        evenly over the other classes; ``"uniform"`` draws its new class uniformly
        among all K classes (possibly its own).

    Returns
    -------
    Dataset
        Same features, class names and hierarchy; new labels ``y``.
        ``metadata["per_sample"]`` gains ``clean_y`` (the labels before any noise:
        kept from an earlier call), ``corrupted`` (``y != clean_y``) and
        ``resampled`` (selected by this call); ``metadata["label_noise"]`` is a list
        with one record (rate, mode, seed entropy, counts) per call.

    Raises
    ------
    ConfigError
        If ``rate`` is not in [0, 1], ``mode`` is unknown, or ``mode`` is
        ``"uniform_other"`` with a single class and ``rate > 0``.

    Notes
    -----
    For each class ``k`` with ``n_k`` samples, ``m_k = floor(rate * n_k)`` of them are
    chosen without replacement (exact counts, not Bernoulli draws). In
    ``"uniform_other"`` mode their new labels cycle through a random order of the
    other ``K - 1`` classes, so each other class receives ``floor`` or ``ceil`` of
    ``m_k / (K - 1)``: LE-SDE's protocol, in which (K = 3) half of the chosen points
    of a class go to one other class and half to the other. After it, class ``k``
    keeps ``1 - rate`` of its samples and sends ``rate / (K - 1)`` to each other
    class, so ``rate = (K - 1) / K`` (2/3 for K = 3) makes the labels independent of
    the inputs. In ``"uniform"`` mode the chosen labels are redrawn from all K
    classes, a share ``rate (K - 1) / K`` of the labels changes in expectation, and
    ``rate = 1`` makes the labels independent of the inputs. Zhang, Wang & Su,
    *Imitating Deep Learning Dynamics via Locally Elastic Stochastic Differential
    Equations*, NeurIPS 2021 (label-corruption experiments).

    Examples
    --------
    >>> ds = Dataset(np.zeros((10, 1)), [0] * 5 + [1] * 5, ("a", "b"))
    >>> noisy = add_label_noise(ds, 0.4, seed=0)
    >>> int(noisy.per_sample["corrupted"].sum()), ds.y.tolist() == [0] * 5 + [1] * 5
    (4, True)
    """
    owner = "add_label_noise"
    if not isinstance(dataset, Dataset):
        raise ConfigError(
            f"The 'dataset' parameter of {owner} must be a Dataset. "
            f"Got {type(dataset).__name__} instead."
        )
    share = check_float(rate, "rate", owner, low=0.0, high=1.0)
    how = check_enum(LabelNoiseMode, mode, "mode", owner)
    k_classes = dataset.n_classes
    if how is LabelNoiseMode.UNIFORM_OTHER and k_classes < 2 and share > 0:
        raise ConfigError(
            f"The 'mode' parameter of {owner} cannot be 'uniform_other' for a dataset "
            "with one class (there is no other class). Use mode='uniform' or add "
            "classes."
        )
    root = as_seed_sequence(seed)
    rng = np.random.default_rng(root)

    y = dataset.y.copy()
    resampled = np.zeros(dataset.n_samples, dtype=bool)
    for k in range(k_classes):
        members = np.flatnonzero(dataset.y == k)
        m = int(np.floor(share * members.size + _EPS))
        if m == 0:
            continue
        chosen = rng.choice(members, size=m, replace=False)
        if how is LabelNoiseMode.UNIFORM_OTHER:
            others = np.array([c for c in range(k_classes) if c != k], dtype=np.int64)
            targets = np.resize(rng.permutation(others), m)
        else:
            targets = rng.integers(0, k_classes, size=m)
        y[chosen] = targets
        resampled[chosen] = True

    meta = dict(dataset.metadata)
    per_sample = dict(meta.get(PER_SAMPLE, {}))
    clean = np.asarray(per_sample.get("clean_y", dataset.y)).astype(np.int64)
    per_sample["clean_y"] = clean
    per_sample["corrupted"] = y != clean
    per_sample["resampled"] = resampled
    meta[PER_SAMPLE] = per_sample
    record = {
        "rate": share,
        "mode": how.value,
        "seed_entropy": root.entropy,
        "n_resampled": int(resampled.sum()),
        "n_changed": int((y != dataset.y).sum()),
    }
    meta["label_noise"] = [*meta.get("label_noise", []), record]
    return dataset.replace(y=y, metadata=meta)
