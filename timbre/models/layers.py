"""Layers whose per-item results do not depend on how many items share the batch."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def item_products(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x (B, in) times weight.T, plus bias, as B separate 1-row products."""
    b = x.shape[0]
    expanded = weight.T.unsqueeze(0).expand(b, -1, -1)
    if bias is None:
        return torch.bmm(x.unsqueeze(1), expanded).squeeze(1)
    return torch.baddbmm(bias.expand(b, 1, -1), x.unsqueeze(1), expanded).squeeze(1)


class OneProductGradients(torch.autograd.Function):
    """`item_products` forward, its gradients each one matrix product: autograd would take the weight's as B outer
    products summed over the batch (about a fifth of a CPU training step of the shipped DiT), at another summation
    order."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return item_products(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        grad_weight = grad.T @ x if ctx.needs_input_grad[1] else None
        grad_bias = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias


class ItemLinear(nn.Linear):
    """nn.Linear on (B, in) vectors as B separate 1-row products, so an item's output is bitwise batch-invariant.

    A plain (B, in) matmul switches BLAS kernels with B (gemv at B = 1), which changes low bits. With
    `one_product_gradients` set (`use_one_product_gradients`) the gradients are taken by `OneProductGradients`: the
    same outputs, faster training, other low bits in the trained weights."""

    one_product_gradients = False

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2:
            return super().forward(x)
        if self.one_product_gradients and torch.is_grad_enabled():
            return OneProductGradients.apply(x, self.weight, self.bias)
        return item_products(x, self.weight, self.bias)


def use_one_product_gradients(module: nn.Module, on: bool = True) -> nn.Module:
    """Set whether every ItemLinear in the module takes its gradients as single matrix products."""
    for layer in module.modules():
        if isinstance(layer, ItemLinear):
            layer.one_product_gradients = on
    return module


class ResBlock(nn.Module):
    """A dilated residual conv block over (B, width, T): GELU, conv k3, GELU, conv k1."""

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)

    def branch(self, x: Tensor) -> Tensor:
        return self.conv2(F.gelu(self.conv1(F.gelu(x))))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.branch(x)


def zeroed(layer: nn.Module) -> nn.Module:
    """The layer with its weight and bias set to zero (an output or modulation that starts switched off)."""
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer
