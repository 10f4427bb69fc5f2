import dataclasses

import pytest
import torch

from timbre.models.dit import DiT, DiTConfig, patches, randomize_, unpatch

CFG = DiTConfig(channels=3, cond_dim=8, width=16, depth=2, heads=2, noise_features=8)


def _net(**changes) -> DiT:
    return randomize_(DiT(dataclasses.replace(CFG, **changes)), seed=0).eval()


def _inputs(frames: int, batch: int = 2):
    g = torch.Generator().manual_seed(1)
    x, c_noise = torch.randn(batch, 3, frames, generator=g), torch.rand(batch, generator=g)
    return x, c_noise, torch.randn(batch, 8, generator=g)


@pytest.mark.parametrize("frames, patch", [(6, 2), (7, 2), (7, 3), (5, 1)])
def test_patches_hold_consecutive_frames_and_unpatch_inverts_them(frames, patch):
    seq = torch.arange(2 * 3 * frames, dtype=torch.float32).reshape(2, 3, frames)
    tokens = patches(seq, patch)
    assert tokens.shape == (2, -(-frames // patch), 3 * patch)
    assert torch.equal(tokens[1, 0, :3], seq[1, :, 0])  # the first token's first frame, then its second
    if patch > 1:
        assert torch.equal(tokens[1, 0, 3:6], seq[1, :, 1])
    assert torch.equal(tokens[1, -1, -3:], seq[1, :, -1])  # the last patch is filled with the last frame
    assert torch.equal(unpatch(tokens, patch, frames), seq)


def test_one_frame_patches_are_the_frames_themselves():
    seq = torch.randn(2, 3, 5)
    assert torch.equal(patches(seq, 1), seq.transpose(1, 2))


def test_without_blocks_each_output_frame_depends_only_on_its_own_patch():
    # no attention: what a frame's output reads is its token, so the patch fixes which frames move together
    x, c_noise, cond = _inputs(8)
    for patch, moved in ((1, [5]), (2, [4, 5]), (4, [4, 5, 6, 7])):
        net = _net(depth=0, patch=patch)
        nudged = x.clone()
        nudged[:, :, 5] += 1.0
        with torch.no_grad():
            change = (net(nudged, c_noise, cond) - net(x, c_noise, cond)).abs().amax((0, 1))
        assert torch.nonzero(change > 1e-6).flatten().tolist() == moved


@pytest.mark.parametrize("known_input", [False, True])
def test_a_sequence_of_part_patches_reads_as_if_its_last_frame_were_repeated(known_input):
    net = _net(patch=2, known_input=known_input)
    x, c_noise, embedding = _inputs(7)
    known = torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(2))
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]])

    def repeat_last(t):
        return torch.cat([t, t[..., -1:]], dim=-1)

    def cond(known):
        return {"embedding": embedding, "known": known, "mask": mask} if known_input else embedding

    with torch.no_grad():
        out = net(x, c_noise, cond(known))
        assert out.shape == x.shape
        assert torch.allclose(out, net(repeat_last(x), c_noise, cond(repeat_last(known)))[..., :7], atol=1e-6)


def test_patch_size_is_checked():
    with pytest.raises(ValueError, match="patch must be a whole number of latent frames >= 1, got 0"):
        DiTConfig(patch=0)
