"""A real S3 endpoint on loopback (moto's server) with boto3's default chain pointed at it."""
import pytest


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """boto3's default chain sees the test endpoint and dummy credentials, and nothing of the user's."""
    for name, value in {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
                        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}.items():
        monkeypatch.setenv(name, value)
    return s3_endpoint


@pytest.fixture
def bucket(s3_env, request):
    """A fresh bucket per test."""
    from cluster.storage import s3_client

    name = "t-" + request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")[:50].strip("-")
    s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def fresh_ray():
    """Ray started inside the test, so its workers inherit the test endpoint from the environment."""
    ray = pytest.importorskip("ray")
    ray.shutdown()
    yield
    ray.shutdown()
