"""Finding a stack from its API's URL (deployed.py): run with the tools' Python, from this folder:
    ../../.local/tools/bin/python -m unittest -q test_deployed
"""

import os
import unittest
from unittest import mock

from deployed import env_line, function_output, locate


class ApiUrls(unittest.TestCase):
    def test_an_aws_url_names_the_api_and_its_region(self):
        self.assertEqual(
            locate("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod"),
            ("a1b2c3d4e5", "eu-west-1", None),
        )

    def test_a_localstack_url_names_the_api_and_the_endpoint_that_serves_it(self):
        with mock.patch.dict(os.environ, {"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}):
            self.assertEqual(
                locate("http://127.0.0.1:4566/_aws/execute-api/xyz123/prod/"),
                ("xyz123", "us-east-1", "http://127.0.0.1:4566"),
            )

    def test_a_localstack_url_is_in_the_environments_region(self):
        with mock.patch.dict(os.environ, {"AWS_REGION": "eu-central-1"}):
            self.assertEqual(locate("http://localhost:4566/_aws/execute-api/x/prod")[1], "eu-central-1")

    def test_any_other_url_is_refused_with_the_shapes_it_could_have(self):
        for url in [
            "https://orders.example.com/prod",
            "http://a1b2.execute-api.eu-west-1.amazonaws.com/prod",
            "http://127.0.0.1:4566/restapis/x/prod/_user_request_/",
        ]:
            with self.subTest(url=url), self.assertRaisesRegex(ValueError, "execute-api"):
                locate(url)


class FunctionEnvironments(unittest.TestCase):
    def test_a_function_is_found_by_the_output_that_names_it(self):
        self.assertEqual(function_output("create-order"), "CreateOrderFunctionName")
        self.assertEqual(function_output("projection"), "ProjectionFunctionName")

    def test_plain_values_are_written_as_they_are_and_others_quoted(self):
        self.assertEqual(env_line("GROUPS_CLAIM", "cognito:groups"), "GROUPS_CLAIM=cognito:groups")
        self.assertEqual(env_line("OIDC_JWKS_URL", ""), "OIDC_JWKS_URL=")
        self.assertEqual(env_line("NOTE", "a b#c"), "NOTE='a b#c'")

    def test_a_value_an_env_file_cannot_hold_is_refused(self):
        with self.assertRaises(SystemExit):
            env_line("NOTE", "it's")


if __name__ == "__main__":
    unittest.main()
