import pytest
import torch

from timbre.models.audio_classifier import AudioClassifierConfig
from timbre.models.codec import SpectralCodec, SpectralCodecConfig
from timbre.models.harmonic_codec import HarmonicCodec, HarmonicCodecConfig
from timbre.models.debug import FrameCodec, FrameCodecConfig
from timbre.models.latent_classifier import LatentClassifierConfig
from timbre.corpus.dataset import stem_example
from timbre.training.classifiers import (ClassifierTrainingConfig, encode_pool, held_out_accuracies, held_out_accuracy,
                                         latent_crops, train_audio_classifier, train_latent_classifier)
from timbre.training.pool import Pool

AUDIO = AudioClassifierConfig(classes=2, n_mels=16, width=16, depth=1, embed_dim=8)
LATENT = LatentClassifierConfig(channels=16, classes=2, width=16, depth=1, embed_dim=8)
CONFIG = ClassifierTrainingConfig(steps=60, batch=8, crop_seconds=0.5, lr=3e-3)


def test_audio_classifier_learns_the_two_classes(two_class_pool):
    model, metrics = train_audio_classifier(AUDIO, CONFIG, two_class_pool)
    with torch.no_grad():
        assert (model(two_class_pool.audio).argmax(-1) == two_class_pool.instruments).all()
        assert (model(0.1 * two_class_pool.audio).argmax(-1) == two_class_pool.instruments).all()  # level is not timbre


SPECTRAL = SpectralCodec(SpectralCodecConfig(n_fft=256, stft_hop=64, stride=2, channels=8, width=32, depth=1))
HARMONIC = HarmonicCodec(HarmonicCodecConfig(n_fft=512, stft_hop=128, stride=2, harmonics=12, floor_lifter=4,
                                             floor_window=5, stretch_max=0.01))


@pytest.mark.parametrize("codec", [SPECTRAL, HARMONIC], ids=["spectral", "harmonic"])
def test_the_pool_encoded_by_length_is_the_pool_encoded_whole(two_class_pool, codec):
    lengths = torch.tensor([16000, 16000, 4000, 4000, 4000, 9000])  # 1 s rows, short notes and a mid one, zero-padded
    audio = torch.zeros(6, 48000)
    for row, n in enumerate(lengths.tolist()):
        audio[row, :n] = two_class_pool.audio[row, :n]
    pool = Pool(audio, lengths, two_class_pool.instruments[:6])
    with torch.no_grad():
        whole, by_length = codec.encode(audio), encode_pool(codec, pool, batch=2, margin_seconds=0.5)
    assert by_length.shape == whole.shape
    assert torch.allclose(by_length[..., :-1], whole[..., :-1], atol=1e-5)  # the row's own last frame sees its end


def test_latent_crops_encode_the_audio_they_come_with(two_class_pool):
    codec = FrameCodec(FrameCodecConfig(hop_length=256, channels=16))
    latents = encode_pool(codec, two_class_pool)
    z, crops = latent_crops(latents, two_class_pool, 5, 10, 256, torch.Generator().manual_seed(0))
    assert torch.allclose(z, codec.encode(crops.audio), atol=1e-5)


def test_distilled_student_follows_its_teacher_and_direct_one_learns_labels(two_class_pool):
    codec = FrameCodec(FrameCodecConfig(hop_length=256, channels=16))
    teacher, _ = train_audio_classifier(AUDIO, CONFIG, two_class_pool)
    latents = encode_pool(codec, two_class_pool)
    longer = ClassifierTrainingConfig(steps=200, batch=8, crop_seconds=0.5, lr=3e-3)
    student, metrics = train_latent_classifier(LATENT, longer, two_class_pool, latents, 256, 16000, teacher)
    direct, _ = train_latent_classifier(LATENT, CONFIG, two_class_pool, latents, 256, 16000, None)
    with torch.no_grad():
        assert torch.equal(student.head.weight, teacher.head.weight)  # the teacher's head, frozen
        z = codec.encode(two_class_pool.audio)
        untrained = train_latent_classifier(LATENT, ClassifierTrainingConfig(steps=0), two_class_pool, latents, 256,
                                            16000, teacher)[0]
        target = teacher.embed(two_class_pool.audio)
        assert (student.embed(z) - target).pow(2).mean() < 0.5 * (untrained.embed(z) - target).pow(2).mean()
        assert (direct(z).argmax(-1) == two_class_pool.instruments).all()
        assert (student(z).argmax(-1) == two_class_pool.instruments).all()
    assert metrics["mode"] == "distilled"


def test_classifiers_scored_together_read_one_preparation_of_each_batch_and_score_as_alone():
    labels = [stem_example(0, "test", i).instrument for i in range(5)]
    calls = []

    def prepare(waves):
        calls.append(len(waves))
        return waves.abs().mean(-1, keepdim=True)  # (B, 1): a stand-in for an encoding

    def right(x):  # the true label for the held-out stems (found by their level, which differs for each)
        found = [labels[int((levels - x[i, 0]).abs().argmin())] for i in range(len(x))]
        return torch.nn.functional.one_hot(torch.tensor(found), 10).float()

    levels = torch.stack([prepare(torch.from_numpy(stem_example(0, "test", i).audio)[None])[0, 0] for i in range(5)])
    calls.clear()
    constant = lambda x: torch.nn.functional.one_hot(torch.zeros(len(x), dtype=torch.long), 10).float()  # noqa: E731
    both = held_out_accuracies({"right": right, "constant": constant}, 0, 5, batch=2, prepare=prepare)
    assert calls == [2, 2, 1]  # each batch prepared once, for both classifiers
    assert both == {"right": 1.0, "constant": labels.count(0) / 5}
    assert both["constant"] == held_out_accuracy(lambda w: constant(prepare(w)), 0, 5, batch=2)
