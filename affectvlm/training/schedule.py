"""How long a run is, in optimizer steps, and how its learning rate moves over them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .config import TrainConfig


def steps_per_epoch(num_batches: int, num_processes: int, accumulation_steps: int) -> int:
    """Optimizer steps in one pass over the training batches: the batches are shared by the processes, and
    `accumulation_steps` micro-batches make one step. The one epoch formula of a run."""
    return math.ceil(num_batches / num_processes / accumulation_steps)


@dataclass(frozen=True)
class Schedule:
    steps_per_epoch: int
    total_steps: int
    eval_every: int
    checkpoint_every: int

    @classmethod
    def plan(cls, config: TrainConfig, num_batches: int, num_processes: int) -> "Schedule":
        """`num_batches`: training batches per epoch on one process before sharding (len of the DataLoader)."""
        per_epoch = steps_per_epoch(num_batches, num_processes, config.gradient_accumulation_steps)
        return cls(steps_per_epoch=per_epoch,
                   total_steps=config.max_steps or max(1, round(config.epochs * per_epoch)),
                   eval_every=config.eval_every or per_epoch,
                   checkpoint_every=config.checkpoint_every or per_epoch)

    def epochs_done(self, step: int) -> float:
        return round(step / self.steps_per_epoch, 2)

    def evaluates_at(self, step: int) -> bool:
        return step % self.eval_every == 0 or step == self.total_steps

    def checkpoints_at(self, step: int) -> bool:
        return step % self.checkpoint_every == 0 or step == self.total_steps


def learning_rate_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    from transformers import get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

    if config.lr_schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, config.warmup_steps)
    make = get_cosine_schedule_with_warmup if config.lr_schedule == "cosine" else get_linear_schedule_with_warmup
    return make(optimizer, config.warmup_steps, total_steps)
