import torch

from timbre.models.conditioner import ContrastiveConditioner, ContrastiveConditionerConfig, word_bucket, words
from timbre.training.conditioner import ConditionerTrainingConfig, supervised_contrastive_loss, train_conditioner

TINY = ContrastiveConditionerConfig(dim=16, buckets=256, word_dim=16, n_mels=16, width=16, depth=1)


def test_embeddings_are_unit_vectors_of_the_declared_size():
    torch.manual_seed(0)
    model = ContrastiveConditioner(TINY)
    text = model.embed_text(["a violin", "", "Solo VIOLIN!"])
    audio = model.embed_audio(torch.randn(2, 8000))
    assert text.shape == (3, 16) and audio.shape == (2, 16)
    assert torch.allclose(text.norm(dim=-1), torch.ones(3)) and torch.allclose(audio.norm(dim=-1), torch.ones(2))
    assert words("Solo VIOLIN!") == ["solo", "violin"]
    # case and punctuation do not matter (a batch of one and of three may round differently: an absolute tolerance)
    assert torch.allclose(model.embed_text(["solo violin"]), text[2:], atol=1e-6)
    assert word_bucket("violin", 4096) == word_bucket("violin", 4096) < 4096


def test_supervised_contrastive_loss_prefers_matching_pairs():
    labels = torch.tensor([0, 1, 0, 1])
    aligned = torch.nn.functional.one_hot(labels, 4).float()
    swapped = torch.nn.functional.one_hot(1 - labels, 4).float()
    scale = torch.tensor(2.0)
    assert supervised_contrastive_loss(aligned, aligned, labels, scale) < supervised_contrastive_loss(
        aligned, swapped, labels, scale)
    # with every same-label pair a positive, the aligned loss is the entropy over the two positives: log 2
    big = torch.tensor(20.0)
    assert abs(supervised_contrastive_loss(aligned, aligned, labels, big).item() - torch.log(torch.tensor(2.0))) < 1e-3


def test_training_puts_each_prompt_next_to_its_audio(two_class_pool):
    config = ConditionerTrainingConfig(steps=60, batch=8, crop_seconds=0.5, lr=3e-3)
    model, metrics = train_conditioner(TINY, config, two_class_pool)
    with torch.no_grad():
        audio = model.embed_audio(two_class_pool.audio)
        text = model.embed_text(["a recording of a guitar", "a recording of a piano"])  # templates unseen in training
    assert ((audio @ text.T).argmax(-1) == two_class_pool.instruments).float().mean() == 1.0
    again, _ = train_conditioner(TINY, config, two_class_pool)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
