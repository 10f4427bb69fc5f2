"""Stable Audio Open's prompt conditioning: T5 encoder states through the projection model, padding masked out."""
import torch
from torch import nn

from timbre.conditions import Cond


class T5PromptConditioner(nn.Module):
    """Prompts -> {"text": (B, L, D) projected T5 states (zero on padding), "prompted": (B, 1) ones}; conditions on
    text only (no audio embedding: a recording's source condition is the null condition)."""

    def __init__(self, tokenizer, text_encoder: nn.Module, projection: nn.Module):
        super().__init__()
        self.tokenizer = tokenizer
        self.text_encoder, self.projection = text_encoder.eval(), projection.eval()
        self.max_length = int(tokenizer.model_max_length)
        self.dim = int(projection.config.conditioning_dim)

    def embed_text(self, texts: list[str]) -> Cond:
        device = next(self.text_encoder.parameters()).device
        tokens = self.tokenizer(list(texts), padding="max_length", max_length=self.max_length, truncation=True,
                                return_tensors="pt")
        mask = tokens.attention_mask.to(device)
        states = self.text_encoder(tokens.input_ids.to(device), attention_mask=mask)[0]
        projected = self.projection(text_hidden_states=states).text_hidden_states
        return {"text": projected * mask.unsqueeze(-1).to(projected.dtype),
                "prompted": torch.ones(len(texts), 1, device=device, dtype=projected.dtype)}

    def null_condition(self) -> Cond:
        """Stable Audio Open's unconditional input: every cross-attention token zero (text and timing alike)."""
        device = next(self.projection.parameters()).device
        return {"text": torch.zeros(1, self.max_length, self.dim, device=device),
                "prompted": torch.zeros(1, 1, device=device)}
