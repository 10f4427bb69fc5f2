"""The generation check: one instrument alone gives the figures it has in the full check."""
from timbre.analysis.generation import generation_accuracy
from timbre.edits import SamplerConfig


def _judge(classes):
    """Any deterministic function of the waves will do: logits from sums of the first samples."""
    return lambda waves: waves[:, : classes * 8].reshape(waves.shape[0], classes, 8).sum(-1)


def test_one_instrument_alone_matches_its_row_of_the_full_check(bundle):
    judge, sampler = _judge(len(bundle.instruments)), SamplerConfig(steps=3, cfg=2.0)
    full = generation_accuracy(bundle, judge, 3, 6, sampler, seed=1)
    name = bundle.instruments[1]
    alone = generation_accuracy(bundle, judge, 3, 6, sampler, seed=1, only=(name,))
    assert list(alone["per_instrument"]) == [name] and list(alone["heard_as"]) == [name]
    assert alone["per_instrument"][name] == full["per_instrument"][name]
    assert alone["heard_as"][name] == full["heard_as"][name] and sum(alone["heard_as"][name].values()) == 3
    assert alone["accuracy"] == full["per_instrument"][name]
