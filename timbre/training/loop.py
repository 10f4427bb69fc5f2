"""The optimisation loop every trainer shares: Adam(W), warm-up and cosine decay, progress every 100 steps."""
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

Progress = Callable[[int, float], None]  # (step, mean loss of the last 100 steps)


def seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a module under a fixed seed without touching the global generator's state."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


def lr_factor(step: int, steps: int, warmup: int = 0) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to 5% of the peak at `steps`."""
    ramp = min(1.0, (step + 1) / warmup) if warmup else 1.0
    return ramp * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step / max(steps, 1), 1.0))))


def fit(model: nn.Module, steps: int, lr: float, batch_loss: Callable[[int], Tensor], progress: Progress | None = None,
        *, warmup: int = 0, clip: float | None = None, adamw: bool = False,
        after_step: Callable[[int], None] | None = None) -> dict:
    """Minimise batch_loss(step) for `steps` steps; the model is left in eval mode. Returns the final loss (mean of
    the last 100 steps) and the step count."""
    optimiser = (torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0) if adamw
                 else torch.optim.Adam(model.parameters(), lr=lr))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: lr_factor(s, steps, warmup))
    losses = []
    model.train()
    for step in range(steps):
        loss = batch_loss(step)
        optimiser.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        schedule.step()
        if after_step is not None:
            after_step(step)
        losses.append(loss.item())
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, float(np.mean(losses[-100:])))
    model.eval()
    return {"final_loss": float(np.mean(losses[-100:])) if losses else float("nan"), "steps": steps}
