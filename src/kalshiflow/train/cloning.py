"""Behaviour cloning of demonstrations into an SB3 PPO policy, before PPO's own updates (extra ``rl``).

Why: see ``train.imitation``. PPO then starts from a policy that already trades like ``maker``
instead of a uniform one that trades on every step, and its value function starts from the
returns of that behaviour instead of zero, so the first advantages are not noise.

What the fit does, in the order PPO will see things:

* ``VecNormalize``'s observation statistics are set from the demonstrations, so the network is
  fitted on exactly the normalised inputs PPO (and the exported ``MlpPolicy``) will feed it; its
  return statistics are set from the demonstrations' running discounted returns, as
  ``VecNormalize`` computes them, so the critic's targets are in PPO's reward units.
* The actor by cross-entropy on the demonstrated action and the critic by squared error on the
  discounted normalised return, jointly (they share no layers in SB3's default ``MlpPolicy``), with
  Adam in minibatches; the order of samples comes from a torch generator seeded by ``seed``.
* The last episode of the demonstrations is held out: the agreement reported on it (overall and
  per action) says whether the network learned the rule or the episodes.

Objects are ``Any``: torch and SB3 are optional and only training imports this module.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kalshiflow.policy.base import Action
from kalshiflow.train.imitation import Demonstrations, discounted_returns


@dataclass(frozen=True)
class CloneReport:
    """Agreement of the fitted network's argmax with the demonstrated action.

    ``train_accuracy`` / ``heldout_accuracy`` over all steps; ``heldout_recall[name]``: of the held-out
    steps where the rule chose ``name``, the share the network chose too; ``heldout_precision[name]``:
    of the held-out steps where the network chose ``name``, the share the rule chose too (None when
    it never did). ``samples`` / ``heldout_samples``, ``action_counts`` (training part), ``epochs``."""

    samples: int
    heldout_samples: int
    action_counts: dict[str, int]
    epochs: int
    train_accuracy: float
    heldout_accuracy: float
    heldout_recall: dict[str, float | None]
    heldout_precision: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "heldout_samples": self.heldout_samples,
            "action_counts": self.action_counts,
            "epochs": self.epochs,
            "train_accuracy": round(self.train_accuracy, 4),
            "heldout_accuracy": round(self.heldout_accuracy, 4),
            "heldout_recall": {k: None if v is None else round(v, 4) for k, v in self.heldout_recall.items()},
            "heldout_precision": {
                k: None if v is None else round(v, 4) for k, v in self.heldout_precision.items()
            },
        }


def split_last_episode(demos: Demonstrations) -> tuple[slice, slice]:
    """(training, held-out) slices: the held-out part is the last episode (empty with one episode)."""
    ends = np.flatnonzero(demos.episode_ends)
    if len(ends) < 2:
        return slice(0, len(demos)), slice(len(demos), len(demos))
    cut = int(ends[-2]) + 1
    return slice(0, cut), slice(cut, len(demos))


def clone_into(
    model: Any,
    venv: Any,
    demos: Demonstrations,
    actions: tuple[Action, ...],
    *,
    epochs: int,
    seed: int,
    gamma: float,
    log_csv: Path | None = None,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
) -> CloneReport:
    """Fit ``model.policy`` (SB3 ``ActorCriticPolicy``) and ``venv``'s statistics to ``demos``."""
    import torch

    train_part, held_part = split_last_episode(demos)
    venv.obs_rms.update(demos.observations[train_part])
    running = np.zeros(len(demos), dtype=np.float64)  # VecNormalize's discounted return, per step
    acc = 0.0
    for t, reward in enumerate(demos.rewards):
        acc = acc * gamma + float(reward)
        running[t] = acc
        if demos.episode_ends[t]:
            acc = 0.0
    venv.ret_rms.update(running[train_part])
    scale = float(np.sqrt(venv.ret_rms.var + venv.epsilon))
    rewards = np.clip(demos.rewards / scale, -venv.clip_reward, venv.clip_reward)
    targets = discounted_returns(rewards, demos.episode_ends, gamma)

    def tensors(part: slice) -> tuple[Any, Any, Any]:
        obs = np.asarray(venv.normalize_obs(demos.observations[part]), dtype=np.float32)
        return (
            torch.as_tensor(obs),
            torch.as_tensor(demos.actions[part]),
            torch.as_tensor(targets[part], dtype=torch.float32),
        )

    obs, act, ret = tensors(train_part)
    policy = model.policy
    policy.set_training_mode(True)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    rows: list[tuple[int, float, float]] = []
    n = int(act.shape[0])
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        total_ce = total_v = 0.0
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            values, log_prob, _ = policy.evaluate_actions(obs[batch], act[batch])
            ce = -log_prob.mean()
            value_loss = torch.nn.functional.mse_loss(values.flatten(), ret[batch])
            optimizer.zero_grad()
            (ce + 0.5 * value_loss).backward()
            optimizer.step()
            total_ce += float(ce.detach()) * len(batch)
            total_v += float(value_loss.detach()) * len(batch)
        rows.append((epoch, total_ce / n, total_v / n))
    policy.set_training_mode(False)
    if log_csv is not None:
        log_csv.parent.mkdir(parents=True, exist_ok=True)
        with log_csv.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", "cross_entropy", "value_mse"])
            writer.writerows(rows)

    def predict(part_obs: Any) -> npt.NDArray[np.int64]:
        with torch.no_grad():
            probs = policy.get_distribution(part_obs).distribution.probs
        return np.asarray(probs.argmax(dim=1).cpu().numpy(), dtype=np.int64)

    train_pred = predict(obs)
    held_obs, held_act, _ = tensors(held_part)
    held_pred = predict(held_obs) if len(held_act) else np.zeros(0, dtype=np.int64)
    held_true = held_act.numpy()
    names = [a.name for a in actions]
    recall: dict[str, float | None] = {}
    precision: dict[str, float | None] = {}
    for i, name in enumerate(names):
        chosen, predicted = held_true == i, held_pred == i
        recall[name] = float((held_pred[chosen] == i).mean()) if chosen.any() else None
        precision[name] = float((held_true[predicted] == i).mean()) if predicted.any() else None
    counts = np.bincount(demos.actions[train_part], minlength=len(names))
    return CloneReport(
        samples=n,
        heldout_samples=len(held_true),
        action_counts={name: int(counts[i]) for i, name in enumerate(names)},
        epochs=epochs,
        train_accuracy=float((train_pred == act.numpy()).mean()) if n else 0.0,
        heldout_accuracy=float((held_pred == held_true).mean()) if len(held_true) else 0.0,
        heldout_recall=recall,
        heldout_precision=precision,
    )
