from tests.aws.fixtures import aws, moto_endpoint, moto_env  # noqa: F401  (fixtures)
