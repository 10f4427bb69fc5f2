"""infra/ against the code: the configs parse (the launcher's against Ray's own schema), run the job the CLI
accepts, put one editor on each GPU, bind dashboards to loopback, use token auth, and hold no credentials."""
import re
import shlex
from pathlib import Path

import pytest
import yaml

import cluster.driver as driver
from jobs.cli import build_parser
from jobs.transfer import job_from_args

INFRA = Path(__file__).parents[2] / "infra"
LAUNCHER = INFRA / "aws" / "ray-cluster.yaml"
RAYJOB = INFRA / "kubernetes" / "rayjob.yaml"
JOB_SPEC = INFRA / "kubernetes" / "job.yaml"
MAKEFILE = INFRA.parent / "Makefile"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _torch_pin() -> str:
    return re.search(r"^TORCH_PIN \?= (\S+)", MAKEFILE.read_text(), re.M).group(1)


def test_the_launcher_config_passes_rays_own_schema_and_puts_editors_only_on_gpu_workers():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = _load(LAUNCHER)
    validate_config(prepare_config(config))  # what `ray up` does before it launches anything
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"]["GPU"] == 0  # the driver's node: no editor lands there
    workers = [t for name, t in types.items() if name != config["head_node_type"]]
    assert workers and all(t["resources"]["GPU"] >= 1 for t in workers)
    for t in workers:  # each GPU's editor, plus room for the CPU download/upload tasks beside it
        assert t["resources"]["CPU"] >= t["resources"]["GPU"] * driver.GPU_EDITOR["num_cpus"] + 1
        assert t["max_workers"] <= config["max_workers"]


def test_the_launcher_starts_every_node_with_token_auth_and_the_head_dashboard_on_loopback():
    config = _load(LAUNCHER)
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    for command in config["head_start_ray_commands"] + config["worker_start_ray_commands"]:
        if "ray start" in command:
            assert "RAY_AUTH_MODE=token ray start" in command, command
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"


def test_the_launcher_installs_the_pinned_torch_and_the_ray_this_code_runs_with():
    import ray

    setup = " ".join(_load(LAUNCHER)["setup_commands"])
    assert _torch_pin() in setup
    assert f"==" + ray.__version__ in setup and "-e ~/timbre" in setup


def test_the_rayjob_runs_a_command_the_cli_accepts_with_its_mounted_spec(tmp_path):
    job = _load(RAYJOB)
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[:2] == ["timbre", "transfer"]
    args = build_parser().parse_args(argv[1:])
    assert args.gpu and args.compile and args.spec == "/etc/timbre/job.yaml"
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    mount = head["containers"][0]["volumeMounts"][0]
    assert mount["mountPath"] == str(Path(args.spec).parent)
    kustomize = _load(INFRA / "kubernetes" / "kustomization.yaml")
    generated = kustomize["configMapGenerator"][0]
    assert generated["name"] == next(v["configMap"]["name"] for v in head["volumes"] if v["name"] == mount["name"])
    assert generated["files"] == [JOB_SPEC.name] and Path(args.spec).name == JOB_SPEC.name
    args.spec = str(JOB_SPEC)
    config, model = job_from_args(args)  # the spec builds a real job: every edit's method and parameters check out
    assert config.source.startswith("s3://") and config.output.startswith("s3://") and len(config.edits) == 2
    assert {e.spec.sampler.precision for e in config.edits} == {"bf16"}  # the GPU workers' arithmetic


def test_the_rayjob_pins_one_gpu_per_worker_binds_the_dashboard_to_loopback_and_uses_token_auth():
    import ray

    job = _load(RAYJOB)["spec"]
    cluster = job["rayClusterSpec"]
    assert cluster["rayVersion"] == ray.__version__ and cluster["authOptions"] == {"mode": "token"}
    assert job["submissionMode"] == "SidecarMode"  # the submitter reaches the loopback dashboard from inside the pod
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["dashboard-host"] == "127.0.0.1" and head["rayStartParams"]["num-gpus"] == "0"
    for group in cluster["workerGroupSpecs"]:
        container = group["template"]["spec"]["containers"][0]
        gpus = int(container["resources"]["limits"]["nvidia.com/gpu"])
        assert gpus >= 1 and int(group["rayStartParams"]["num-gpus"]) == gpus
        assert int(container["resources"]["limits"]["cpu"]) >= gpus * driver.GPU_EDITOR["num_cpus"] + 1
    images = {c["image"] for g in [head, *cluster["workerGroupSpecs"]] for c in g["template"]["spec"]["containers"]}
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert images == {f"timbre-ray:{ray.__version__}"} and f"-t timbre-ray:{ray.__version__}" in dockerfile
    assert re.search(rf"^FROM rayproject/ray:{re.escape(ray.__version__)}-py311-gpu$", dockerfile, re.M)
    assert _torch_pin() in dockerfile


@pytest.mark.parametrize("path", sorted(p for p in INFRA.rglob("*") if p.is_file()), ids=lambda p: p.name)
def test_no_infra_file_holds_credentials_or_a_runtime_environment(path):
    text = path.read_text()
    for word in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws_access_key_id", "aws_secret_access_key",
                 "AWS_SESSION_TOKEN", "runtimeEnvYAML", "runtime_env"):
        assert word not in text, f"{path.name} mentions {word}"


def test_the_job_code_sets_no_runtime_environment_where_credentials_could_travel():
    for path in (INFRA.parent / "cluster").glob("*.py"):
        assert "runtime_env" not in path.read_text(), path.name
