"""CLAP similarity (MI-guided inpainting §4.5.1) and instrument top-1 accuracy (Diff-TONE §4) of edited audio."""
from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from timbre.audio import resample_waves
from timbre.models.protocols import Conditioner


def embed_audio_at(embedder: Conditioner, waves: Tensor, sample_rate: int) -> Tensor:
    """(B, S) mono waves at `sample_rate` -> (B, dim) embeddings, resampled to the embedder's rate first."""
    return embedder.embed_audio(resample_waves(waves, sample_rate, embedder.sample_rate).float())


def clap_similarity(output_embeddings: Tensor, target_embeddings: Tensor) -> Tensor:
    """(B,) cosine between each output's audio embedding and its target's text or audio embedding."""
    if output_embeddings.shape != target_embeddings.shape:
        raise ValueError(f"embeddings differ in shape: {tuple(output_embeddings.shape)} vs "
                         f"{tuple(target_embeddings.shape)}")
    return F.cosine_similarity(output_embeddings.float(), target_embeddings.float(), dim=-1)


def top1_correct(classifier: Callable[[Tensor], Tensor], waves: Tensor, targets: Tensor) -> Tensor:
    """(B,) whether the classifier's most likely instrument for each wave is its target."""
    return classifier(waves).argmax(-1) == targets.to(waves.device)
