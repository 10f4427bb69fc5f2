"""DDIM-inversion baseline: invert to sigma_max, then sample with the target condition."""
from dataclasses import dataclass

from timbre.edits.base import EditBatch, EditModel, EditResult, SamplerConfig, generate, invert_source, target_cond


@dataclass(frozen=True)
class DDIMInversionParams:
    """DDIM-inversion has no strength of its own: it always inverts the whole grid."""


def ddim_inversion(model: EditModel, batch: EditBatch, params: DDIMInversionParams,
                   sampler: SamplerConfig) -> EditResult:
    """Invert the source to sigma_max, then sample under the target (MI-guided inpainting 4.5.4, baseline 1)."""
    sigmas = sampler.sigmas()
    trajectory = invert_source(model, batch, sampler, sigmas, to=0)
    return EditResult(generate(model, sampler, trajectory.top, sigmas, target_cond(batch)))
