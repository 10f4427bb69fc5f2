import pytest
import torch

from timbre.models.dit import DIT_SIZES, DiT
from timbre.models.layers import ItemLinear, use_one_product_gradients


def _outputs_and_gradients(layer: ItemLinear, x: torch.Tensor, upstream: torch.Tensor):
    layer.zero_grad()
    x = x.clone().requires_grad_(True)
    out = layer(x)
    (out * upstream).sum().backward()
    return out.detach(), x.grad, layer.weight.grad.clone(), None if layer.bias is None else layer.bias.grad.clone()


@pytest.mark.parametrize("bias", [True, False])
def test_one_product_gradients_keep_the_outputs_bitwise_and_the_gradients_to_rounding(bias):
    g = torch.Generator().manual_seed(0)
    layer = ItemLinear(24, 40, bias=bias)
    x, upstream = torch.randn(7, 24, generator=g), torch.randn(7, 40, generator=g)
    plain = _outputs_and_gradients(layer, x, upstream)
    fast = _outputs_and_gradients(use_one_product_gradients(layer), x, upstream)
    assert torch.equal(plain[0], fast[0])  # the forward is the per-item product either way
    # against the gradients written out: dL/dx = G W, dL/dW = G^T x, dL/db = sum of G
    expected = (upstream @ layer.weight.detach(), upstream.T @ x, upstream.sum(0) if bias else None)
    for got_plain, got_fast, want in zip(plain[1:], fast[1:], expected):
        if want is None:
            assert got_plain is None and got_fast is None
            continue
        assert torch.allclose(got_plain, want, atol=1e-5) and torch.allclose(got_fast, want, atol=1e-5)


def test_a_dit_set_to_one_product_gradients_trains_like_the_plain_one_and_can_be_set_back():
    config = DIT_SIZES["tiny"]
    nets = [DiT(config) for _ in range(2)]
    use_one_product_gradients(nets[1])
    x, c_noise, cond = torch.randn(3, config.channels, 12), torch.rand(3), torch.randn(3, config.cond_dim)
    grads = []
    for net in nets:
        for i, p in enumerate(net.parameters()):  # the adaLN layers start at zero (adaLN-Zero): the same non-zero
            torch.nn.init.normal_(p, std=0.2, generator=torch.Generator().manual_seed(i))  # weights in both nets
        net(x, c_noise, cond).square().sum().backward()
        grads.append([p.grad for p in net.parameters()])
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-6 * float(b.abs().max())) for a, b in zip(*grads))
    flags = {m.one_product_gradients for m in nets[1].modules() if isinstance(m, ItemLinear)}
    assert flags == {True}
    use_one_product_gradients(nets[1], False)
    assert {m.one_product_gradients for m in nets[1].modules() if isinstance(m, ItemLinear)} == {False}
