"""What deploy.sh chooses for the account's API Gateway logging role on AWS (python -m unittest):
stack.py reads the account's settings, with fakes of the clients here."""

import contextlib
import io
import unittest

from botocore.exceptions import ClientError

import stack


def client_error(code):
    return ClientError({"Error": {"Code": code, "Message": code}}, "Operation")


class Fake:
    """A client whose methods answer from a dict (a value, or an exception to raise)."""

    def __init__(self, **answers):
        self.answers = answers

    def __getattr__(self, name):
        def call(**_):
            answer = self.answers[name]
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


class Target:
    def __init__(self, account_role=None, roles=(), stack_role=None):
        self.account, self.region = "111111111111", "eu-west-1"
        settings = {"cloudwatchRoleArn": account_role} if account_role else {}
        self.clients = {
            "apigateway": Fake(get_account=settings),
            "iam": Fake(get_role=client_error("NoSuchEntity")),
        }
        if account_role and account_role.rsplit("/", 1)[-1] in roles:
            self.clients["iam"] = Fake(get_role={"Role": {}})
        self.cfn = Fake(
            describe_stack_resource={"StackResourceDetail": {"PhysicalResourceId": stack_role}}
            if stack_role
            else client_error("ValidationError")
        )

    def client(self, service):
        return self.clients[service]


ROLE = "arn:aws:iam::111111111111:role/service-role/apigw-logs"


class ApiLoggingRole(unittest.TestCase):
    def choose(self, target, status="UPDATE_COMPLETE", requested="auto"):
        """The choice, having checked that it is said (deploy.sh's output is where a user sees it)."""
        with contextlib.redirect_stdout(io.StringIO()) as said:
            chosen = stack.api_logging_role(target, "eda-demo", status, requested)
        self.assertIn(f"(ApiGatewayAccountRole={chosen})", said.getvalue())
        return chosen

    def test_an_account_without_a_role_gets_one(self):
        self.assertEqual(self.choose(Target(), status=None), "create")

    def test_an_account_whose_role_exists_keeps_it(self):
        self.assertEqual(self.choose(Target(ROLE, roles=["apigw-logs"])), "existing")

    def test_a_role_named_but_deleted_is_replaced(self):
        self.assertEqual(self.choose(Target(ROLE)), "create")

    def test_the_role_this_stack_made_stays_the_stacks(self):
        target = Target(ROLE, roles=["apigw-logs"], stack_role="apigw-logs")
        self.assertEqual(self.choose(target), "create")

    def test_what_is_asked_wins(self):
        self.assertEqual(self.choose(Target(), requested="existing"), "existing")


if __name__ == "__main__":
    unittest.main()
