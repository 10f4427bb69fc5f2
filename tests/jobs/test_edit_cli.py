import numpy as np
import pytest
import soundfile as sf

from jobs.cli import build_parser, main
from timbre.edits import METHODS


@pytest.fixture
def stereo_wav(tmp_path):
    path = tmp_path / "in.wav"
    t = np.arange(22050) / 22050
    sf.write(path, np.stack([0.3 * np.sin(2 * np.pi * 330 * t), 0.2 * np.sin(2 * np.pi * 440 * t)], 1), 22050,
             subtype="PCM_24")
    return path


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_writes_a_file_like_its_input(method, stereo_wav, tmp_path, capsys):
    out = tmp_path / f"{method}.wav"
    assert main(["edit", str(stereo_wav), "--method", method, "--to", "violin", "-o", str(out), "--steps", "3"]) == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (22050, 2, 22050, "PCM_24")
    assert f"wrote {out}: {method} to prompt 'violin'" in capsys.readouterr().out


def test_each_channel_of_the_edit_keeps_its_inputs_level_unless_told_not_to(stereo_wav, tmp_path, capsys):
    rms_db = lambda w: 10 * np.log10((w ** 2).mean(0))  # noqa: E731
    levels = {}
    for window in (1.0, 0.0):
        out = tmp_path / f"level-{window}.wav"
        assert main(["edit", str(stereo_wav), "--method", "mi-inpaint", "--to", "violin", "-o", str(out),
                     "--steps", "3", "--cfg", "4", "--level-window", str(window)]) == 0
        assert ("level course matched to the source's" in capsys.readouterr().out) == (window > 0)
        levels[window] = rms_db(sf.read(out)[0]) - rms_db(sf.read(stereo_wav)[0])
    assert np.abs(levels[1.0]).max() < 2.0  # the course's smoothing leaves a dB or so
    assert np.abs(levels[0.0] - levels[1.0]).max() > 0.5  # the model's own level is another


def test_reference_recording_target_and_flac_output(stereo_wav, tmp_path, capsys):
    out = tmp_path / "out.flac"
    code = main(["edit", str(stereo_wav), "--method", "diff-tone", "--to", str(stereo_wav), "--source", "piano",
                 "-o", str(out), "--steps", "3"])
    assert code == 0 and sf.info(out).format == "FLAC"
    assert f"to recording {stereo_wav}" in capsys.readouterr().out


def test_help_explains_every_parameter(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["edit", "--help"])
    text = capsys.readouterr().out
    for flag in ("--method", "--to", "--output", "--source", "--k", "--clamp", "--noise-fraction", "--steps", "--cfg",
                 "--structure-cfg", "--seed", "--fallback", "--solver", "--model", "--level-window"):
        assert flag in text
    assert all(name in text for name in METHODS)


def _fails(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


def test_missing_input_is_one_line(tmp_path, capsys):
    err = _fails(["edit", str(tmp_path / "nope.wav"), "--method", "pni", "--to", "x", "-o", str(tmp_path / "o.wav")],
                 capsys)
    assert "nope.wav: cannot read (No such file or directory)" in err


def test_a_text_file_named_wav_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio at all")
    err = _fails(["edit", str(bad), "--method", "pni", "--to", "x", "-o", str(tmp_path / "o.wav")], capsys)
    assert "bad.wav: not a readable audio file" in err
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize("extra, message", [
    (["--method", "mi-inpaint", "--k", "1.5"], "k must be a number in [0, 1]"),
    (["--method", "mi-inpaint", "--clamp", "-0.2"], "clamp must be a number in [0, 1]"),
    (["--method", "pni", "--steps", "0"], "steps must be an integer >= 1"),
    (["--method", "pni", "--clamp", "0.5"], "--clamp does not apply to --method pni"),
    (["--method", "mi-inpaint", "--structure-cfg", "-1"], "structure_cfg must be a finite number >= 0"),
    (["--method", "diff-tone", "--structure-cfg", "1"], "--structure-cfg does not apply to --method diff-tone"),
    (["--method", "diff-midpoint", "--estimate", "guided"], "--estimate does not apply to --method diff-midpoint"),
    (["--method", "pni", "--to", "missing_ref.wav"], "missing_ref.wav: reference recording not found"),
    (["--method", "pni", "--level-window", "-1"], "need level_seconds >= 0"),
])
def test_bad_parameters_name_themselves(stereo_wav, tmp_path, capsys, extra, message):
    argv = ["edit", str(stereo_wav), "-o", str(tmp_path / "o.wav")] + extra
    if "--to" not in extra:
        argv += ["--to", "violin"]
    assert message in _fails(argv, capsys)


def test_unknown_method_is_refused_by_the_parser(stereo_wav, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["edit", str(stereo_wav), "--method", "warp", "--to", "x", "-o", str(tmp_path / "o.wav")])
    assert e.value.code == 2 and "invalid choice: 'warp'" in capsys.readouterr().err


def test_bad_output_suffix(stereo_wav, tmp_path, capsys):
    assert "output must end in .wav or .flac" in _fails(
        ["edit", str(stereo_wav), "--method", "pni", "--to", "x", "-o", str(tmp_path / "o.mp3")], capsys)


def test_precision_reaches_the_edit_from_the_flags_and_from_a_job_spec(tmp_path):
    from jobs.edit import build_spec
    from jobs.transfer import _edit_from_yaml

    args = build_parser().parse_args(["edit", "in.wav", "--method", "pni", "--to", "violin", "-o", "o.wav",
                                      "--precision", "bf16"])
    assert build_spec(args)[0].sampler.precision == "bf16"
    args = build_parser().parse_args(["transfer", "src", "--method", "pni", "--to", "violin", "--out", "o"])
    assert build_spec(args)[0].sampler.precision == "fp32"
    assert _edit_from_yaml({"to": "violin", "method": "pni", "precision": "bf16"}).spec.sampler.precision == "bf16"
    with pytest.raises(Exception, match="precision must be one of fp32, bf16, got 'fp8'"):
        _edit_from_yaml({"to": "violin", "method": "pni", "precision": "fp8"})


def test_diff_tones_estimate_reaches_the_edit_from_the_flags_and_a_job_spec():
    from jobs.edit import build_spec
    from jobs.transfer import _edit_from_yaml

    for command in (["edit", "in.wav", "-o", "o.wav"], ["transfer", "src", "--out", "o"]):
        args = build_parser().parse_args([*command, "--method", "diff-tone", "--to", "violin", "--estimate",
                                          "unconditional"])
        assert build_spec(args)[0].params.estimate == "unconditional"
        args = build_parser().parse_args([*command, "--method", "diff-tone", "--to", "violin"])
        assert build_spec(args)[0].params.estimate == "guided"
    assert _edit_from_yaml({"to": "violin", "method": "diff-tone", "estimate": "unconditional"}
                           ).spec.params.estimate == "unconditional"
    with pytest.raises(Exception, match="estimate must be one of guided, unconditional, got 'noisy'"):
        _edit_from_yaml({"to": "violin", "method": "diff-tone", "estimate": "noisy"})


def test_holding_the_level_reaches_the_edit_from_the_flags_and_a_job_spec_and_a_codec_that_cannot_refuses(
        stereo_wav, tmp_path, capsys):
    from jobs.edit import build_spec
    from jobs.transfer import _edit_from_yaml

    for command in (["edit", "in.wav", "-o", "o.wav"], ["transfer", "src", "--out", "o"]):
        args = build_parser().parse_args([*command, "--method", "pni", "--to", "violin", "--hold-level"])
        assert build_spec(args)[0].sampler.hold_level is True
    args = build_parser().parse_args(["transfer", "src", "--method", "pni", "--to", "violin", "--out", "o"])
    assert build_spec(args)[0].sampler.hold_level is False
    assert _edit_from_yaml({"to": "violin", "method": "pni", "hold_level": True}).spec.sampler.hold_level is True
    with pytest.raises(Exception, match="hold_level must be true or false, got 'yes please'"):
        _edit_from_yaml({"to": "violin", "method": "pni", "hold_level": "yes please"})
    assert "hold_level needs a codec whose latents hold each frame's level apart" in _fails(
        ["edit", str(stereo_wav), "--method", "mi-inpaint", "--to", "violin", "-o", str(tmp_path / "o.wav"),
         "--model", "debug", "--steps", "2", "--hold-level"], capsys)


def test_the_bundles_edit_defaults_fill_what_the_flags_and_a_job_spec_leave_out(stereo_wav, tmp_path, capsys):
    from dataclasses import replace

    from jobs.transfer import job_from_args
    from timbre.models.bundle import debug_bundle, save_bundle

    tuned = tmp_path / "tuned"
    save_bundle(replace(debug_bundle(), edit_defaults={"mi-inpaint": {"k": 0.75, "clamp": 1.0, "cfg": 2.0}}), tuned)
    edit = ["edit", str(stereo_wav), "--method", "mi-inpaint", "--to", "violin", "--model", str(tuned), "--steps", "3"]
    assert main([*edit, "-o", str(tmp_path / "a.wav")]) == 0
    assert "12 timbre channels, 3 clamped steps" in capsys.readouterr().out  # 16 channels, k 0.75, clamp 1
    assert main([*edit, "-o", str(tmp_path / "b.wav"), "--k", "0.25"]) == 0
    assert "4 timbre channels, 3 clamped steps" in capsys.readouterr().out
    spec = tmp_path / "job.yaml"
    spec.write_text(f"source: {tmp_path}\noutput: {tmp_path / 'out'}\nmodel: {tuned}\nedits:\n"
                    "  - {to: violin, method: mi-inpaint, clamp: 0.5}\n  - {to: flute, method: pni}\n")
    config, _ = job_from_args(build_parser().parse_args(["transfer", "--spec", str(spec)]))
    inpaint, pni = config.edits
    assert (inpaint.spec.params.k, inpaint.spec.params.clamp, inpaint.spec.sampler.cfg) == (0.75, 0.5, 2.0)
    assert pni.spec.sampler.cfg == 1.25  # the engine's default: the bundle names no pni settings
    args = build_parser().parse_args(["transfer", str(tmp_path), "--out", str(tmp_path / "o2"), "--to", "violin",
                                      "--method", "mi-inpaint", "--model", str(tuned), "--cfg", "3"])
    (only,) = job_from_args(args)[0].edits
    assert (only.spec.params.k, only.spec.sampler.cfg) == (0.75, 3.0)


def test_diff_tone_and_its_baselines_take_k_from_the_flag_else_the_bundles_defaults(stereo_wav, tmp_path):
    from jobs.edit import build_spec

    edit = ["edit", str(stereo_wav), "--to", "violin", "-o", str(tmp_path / "out.wav"), "--steps", "3"]
    for method in ("diff-tone", "diff-random", "diff-midpoint"):
        assert build_spec(build_parser().parse_args([*edit, "--method", method, "--k", "0.5"]))[0].params.k == 0.5
        bare = build_parser().parse_args([*edit, "--method", method])
        assert build_spec(bare)[0].params.k == 1.0  # every channel regenerated, as the paper
        assert build_spec(bare, {method: {"k": 0.75}})[0].params.k == 0.75
    assert main([*edit, "--method", "diff-tone", "--k", "0.5"]) == 0
    assert sf.info(tmp_path / "out.wav").frames == sf.info(stereo_wav).frames
