"""What deploy.sh chooses for the account's API Gateway logging role on AWS (python -m unittest):
stack.py reads the account's settings, with fakes of the clients here. And the steps of a deploy
that decide what the change set and .local/stack.env get, with the same fakes."""

import contextlib
import io
import stat
import tempfile
import unittest
import zipfile
from pathlib import Path
from types import SimpleNamespace

import boto3
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import artifacts
import stack
from console import Console


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
        self.console = Console("deploy")
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


class Recorder:
    """A client that records each call and answers from a dict (None when not given)."""

    def __init__(self, **answers):
        self.answers, self.calls = answers, []
        self.meta = SimpleNamespace(endpoint_url="https://s3.eu-west-1.amazonaws.com")

    def __getattr__(self, name):
        def call(**kwargs):
            self.calls.append((name, kwargs))
            return self.answers.get(name)

        return call

    def get_paginator(self, name):
        """A paginator with one page: the answer to `name`."""
        return SimpleNamespace(paginate=lambda **kwargs: [getattr(self, name)(**kwargs)])


def deploy_target(local=False, cfn=None, s3=None):
    target = SimpleNamespace(account="111111111111", region="eu-west-1", console=Console("deploy"), local=local)
    target.endpoint_url = "http://127.0.0.1:4566" if local else None
    target.cfn, target.s3 = cfn or Recorder(), s3 or Recorder()
    return target


def described(**stack_fields):
    return {"Stacks": [{"StackName": "eda-demo", "StackStatus": "UPDATE_COMPLETE", **stack_fields}]}


def quietly(step, *args):
    with contextlib.redirect_stdout(io.StringIO()) as said:
        result = step(*args)
    return result, said.getvalue()


class DeploySteps(unittest.TestCase):
    def test_parameters_given_keep_their_order_and_a_bare_key_is_empty(self):
        given = stack.given_parameters(["OidcIssuer=https://issuer/a=b", "ApiThrottleRate=5", "OidcAudience"])
        self.assertEqual(list(given.items()),
                         [("OidcIssuer", "https://issuer/a=b"), ("ApiThrottleRate", "5"), ("OidcAudience", "")])

    def test_a_kept_parameter_is_one_the_stack_has_and_the_deploy_does_not_give(self):
        parameters = [{"ParameterKey": "OidcIssuer", "ParameterValue": "https://issuer"},
                      {"ParameterKey": "ApiThrottleRate", "ParameterValue": "5"}]
        target = deploy_target(cfn=Recorder(describe_stacks=described(Parameters=parameters)))
        kept, said = quietly(stack.kept_parameters, target, "eda-demo", {"ApiThrottleRate": "10"},
                             ["OidcIssuer", "ApiThrottleRate", "OidcAudience"])
        self.assertEqual(kept, [{"ParameterKey": "OidcIssuer", "UsePreviousValue": True}])
        self.assertIn("keeping OidcIssuer='https://issuer', as deployed", said)

    def test_a_template_within_the_limit_goes_in_the_change_set_itself(self):
        target = deploy_target()
        source = stack.template_source(target, "bucket", "Resources: {}\n")
        self.assertEqual(source, {"TemplateBody": "Resources: {}\n"})
        self.assertEqual(target.s3.calls, [])

    def test_a_template_past_the_limit_is_uploaded_and_given_by_its_url(self):
        target, body = deploy_target(), "#" * (stack.TEMPLATE_BODY_LIMIT + 1)
        source = stack.template_source(target, "bucket", body)
        [(name, upload)] = target.s3.calls
        self.assertEqual((name, upload["Bucket"], upload["Body"]), ("put_object", "bucket", body.encode()))
        self.assertEqual(source, {"TemplateURL": f"https://s3.eu-west-1.amazonaws.com/bucket/{upload['Key']}"})

    def test_a_stack_not_left_by_a_failed_first_deploy_is_kept(self):
        target = deploy_target()
        for status in (None, "REVIEW_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"):
            self.assertEqual(stack.remove_failed_first_deploy(target, "eda-demo", status, 60), status)
        self.assertEqual(target.cfn.calls, [])

    def test_on_localstack_the_api_url_is_where_localstack_serves_the_api(self):
        outputs = [{"OutputKey": k, "OutputValue": v}
                   for k, v in {"ApiId": "abc123", "ApiStage": "local", "ApiUrl": "https://aws"}.items()]
        target = deploy_target(local=True, cfn=Recorder(describe_stacks=described(Outputs=outputs)))
        values = stack.stack_outputs(target, "eda-demo")
        self.assertEqual(values["ApiUrl"], "http://127.0.0.1:4566/_aws/execute-api/abc123/local")

    def test_the_env_file_names_the_api_and_the_stack_then_each_output(self):
        values = {"ApiUrl": "http://127.0.0.1:4566/_aws/execute-api/abc123/local", "EventStoreTableName": "events"}
        self.assertEqual(stack.env_lines(deploy_target(local=True), "eda-demo", values), [
            "API=http://127.0.0.1:4566/_aws/execute-api/abc123/local",
            "AWS_REGION=eu-west-1",
            "STACK_NAME=eda-demo",
            "AWS_ENDPOINT_URL=http://127.0.0.1:4566",
            "API_URL=http://127.0.0.1:4566/_aws/execute-api/abc123/local",
            "EVENT_STORE_TABLE_NAME=events",
        ])  # fmt: skip
        self.assertNotIn("AWS_ENDPOINT_URL=", "\n".join(stack.env_lines(deploy_target(), "eda-demo", values)))

    def test_on_localstack_an_output_of_a_resource_it_did_not_make_is_left_out_and_said(self):
        values = {"ApiUrl": "http://x", "EventArchiveArn": "unknown", "EventBusArn": "arn:bus"}
        lines, said = quietly(stack.env_lines, deploy_target(local=True), "eda-demo", values)
        self.assertIn("EVENT_BUS_ARN=arn:bus", lines)
        self.assertFalse([line for line in lines if line.startswith("EVENT_ARCHIVE_ARN")], lines)
        self.assertIn("output EventArchiveArn left out of the env file: LocalStack made no resource for it", said)
        self.assertIn("EVENT_ARCHIVE_ARN=unknown", stack.env_lines(deploy_target(), "eda-demo", values))

    def test_the_env_file_reads_back_as_it_was_written(self):
        lines = ["API=http://127.0.0.1:4566/_aws/execute-api/abc123/local", "STACK_NAME=eda-demo"]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "stack.env"
            quietly(stack.write_env_file, Console("test"), path, lines)
            path.write_text(path.read_text() + "# by hand\nOIDC_AUDIENCE='eda demo'\n")
            self.assertEqual(stack.read_env_file(path), {
                "API": "http://127.0.0.1:4566/_aws/execute-api/abc123/local", "STACK_NAME": "eda-demo",
                "OIDC_AUDIENCE": "eda demo"})
            with self.assertRaisesRegex(SystemExit, "local-up.sh"):
                stack.read_env_file(Path(folder) / "missing.env")


CHANGES = {"Status": "CREATE_COMPLETE", "Changes": [
    {"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": "CreateOrderFunction",
                                            "ResourceType": "AWS::Lambda::Function", "Replacement": "False"}},
    {"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": "EventStoreTable",
                                            "ResourceType": "AWS::DynamoDB::Table", "Replacement": "True"}},
]}


def answering(reply):
    def answer(_question):
        if isinstance(reply, Exception):
            raise reply
        return reply

    return answer


class ChangeSetReview(unittest.TestCase):
    def review(self, reply, change_set_type="UPDATE"):
        """Runs a change set with a review answered `reply`; returns how it ended, what was said,
        and the CloudFormation calls made."""
        target = deploy_target(cfn=Recorder(describe_change_set=CHANGES, describe_stack_events={"StackEvents": []}))
        said = io.StringIO()
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said), self.assertRaises(SystemExit) as end:
            stack.run_change_set(target, "eda-demo", change_set_type, [], {"TemplateBody": "{}"}, 60,
                                 confirm=True, answer=answering(reply))
        return end.exception.code, said.getvalue(), [name for name, _ in target.cfn.calls]

    def test_the_review_shows_each_resource_change_and_which_are_replaced(self):
        target = deploy_target(cfn=Recorder(describe_change_set=CHANGES))
        asked = []
        yes, said = quietly(stack.confirmed, target, "eda-demo", "deploy-1", lambda q: asked.append(q) or "y")
        self.assertTrue(yes)
        self.assertIn("2 resources", said)
        self.assertRegex(said, r"Modify +CreateOrderFunction +AWS::Lambda::Function\n")
        self.assertRegex(said, r"Modify +EventStoreTable +AWS::DynamoDB::Table, replaced\n")
        self.assertEqual(asked, ["[deploy] execute this change set? [y/N] "])

    def test_a_declined_change_set_is_deleted_and_not_executed(self):
        code, said, calls = self.review("n")
        self.assertEqual(code, stack.DECLINED)
        self.assertIn("delete_change_set", calls)
        self.assertNotIn("execute_change_set", calls)
        self.assertNotIn("delete_stack", calls)
        self.assertIn("nothing deployed", said)

    def test_anything_but_yes_declines(self):
        for reply in ("", "no", "yes please", "q"):
            code, _, calls = self.review(reply)
            self.assertEqual(code, stack.DECLINED, reply)
            self.assertNotIn("execute_change_set", calls)

    def test_a_declined_first_deploy_leaves_no_empty_stack(self):
        _, _, calls = self.review("N", change_set_type="CREATE")
        self.assertEqual(calls[-2:], ["delete_change_set", "delete_stack"])

    def test_a_review_nobody_answers_fails_and_deploys_nothing(self):
        code, said, calls = self.review(EOFError())
        self.assertEqual(code, 1)
        self.assertIn("no answer to the change set review", said)
        self.assertIn("delete_change_set", calls)
        self.assertNotIn("execute_change_set", calls)

    def test_the_changes_are_read_on_every_page(self):
        cfn = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")
        asked = {"StackName": "eda-demo", "ChangeSetName": "deploy-1"}
        with Stubber(cfn) as stubbed:
            stubbed.add_response("describe_change_set", {**CHANGES, "NextToken": "2"}, asked)
            stubbed.add_response("describe_change_set", {"Changes": CHANGES["Changes"][:1]}, {**asked, "NextToken": "2"})
            changes = stack.change_set_changes(cfn, "eda-demo", "deploy-1")
            stubbed.assert_no_pending_responses()
        self.assertEqual([c["LogicalResourceId"] for c in changes],
                         ["CreateOrderFunction", "EventStoreTable", "CreateOrderFunction"])


TEMPLATE = {"Resources": {
    "CreateOrderFunction": {"Type": "AWS::Serverless::Function",
                            "Properties": {"CodeUri": "../crates/create-order", "Handler": "bootstrap"}},
    "PaymentWorkflow": {"Type": "AWS::Serverless::StateMachine",
                        "Properties": {"DefinitionUri": "statemachines/payment.asl.json"}},
    "Elsewhere": {"Type": "AWS::Serverless::Function",
                  "Properties": {"CodeUri": {"Bucket": "theirs", "Key": "fn.zip"}}},
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "t"}},
}}


class TemplateLocation(unittest.TestCase):
    def test_local_code_is_replaced_by_where_deploy_uploaded_it(self):
        located = artifacts.located_in(TEMPLATE, "bucket", "build/abc", {"create-order.zip", "payment.asl.json"})
        resources = located["Resources"]
        self.assertEqual(resources["CreateOrderFunction"]["Properties"]["CodeUri"],
                         {"Bucket": "bucket", "Key": "build/abc/create-order.zip"})
        self.assertEqual(resources["PaymentWorkflow"]["Properties"]["DefinitionUri"],
                         {"Bucket": "bucket", "Key": "build/abc/payment.asl.json"})
        self.assertEqual(resources["Elsewhere"], TEMPLATE["Resources"]["Elsewhere"])
        self.assertEqual(resources["Table"], TEMPLATE["Resources"]["Table"])
        self.assertEqual(TEMPLATE["Resources"]["CreateOrderFunction"]["Properties"]["CodeUri"], "../crates/create-order")

    def test_local_code_deploy_did_not_upload_is_refused_by_name(self):
        with self.assertRaisesRegex(ValueError, "PaymentWorkflow's DefinitionUri is statemachines/payment.asl.json"):
            artifacts.located_in(TEMPLATE, "bucket", "build/abc", {"create-order.zip"})

    def test_the_repositorys_template_has_local_code_for_each_function_deploy_builds(self):
        from template_check import read_template

        functions = set(Path("common.sh").read_text().split('FUNCTIONS="', 1)[1].split('"', 1)[0].split(","))
        uploaded = {f"{name}.zip" for name in functions} | {"payment.asl.json"}
        located = artifacts.located_in(read_template("../../infra/template.yaml"), "b", "p", uploaded)
        keys = {resource["Properties"].get("CodeUri", resource["Properties"].get("DefinitionUri"))["Key"]
                for resource in located["Resources"].values()
                if resource["Type"] in artifacts.LOCAL_CODE}
        self.assertEqual(keys, {f"p/{name}" for name in uploaded})


class Zips(unittest.TestCase):
    def test_the_same_bootstrap_zips_to_the_same_bytes_and_stays_executable(self):
        # Same bytes, same content hash: a rebuild that changed nothing uploads nothing new.
        with tempfile.TemporaryDirectory() as folder:
            binary = artifacts.bootstrap(folder, "payment")
            binary.parent.mkdir()
            binary.write_bytes(b"\x7fELF pretend")
            first = artifacts.zip_bootstrap(binary)
            binary.touch()
            self.assertEqual(artifacts.zip_bootstrap(Path(binary)), first)
        with zipfile.ZipFile(io.BytesIO(first)) as archive:
            [info] = archive.infolist()
            self.assertEqual((info.filename, archive.read(info)), ("bootstrap", b"\x7fELF pretend"))
            self.assertEqual(stat.S_IMODE(info.external_attr >> 16), 0o755)


if __name__ == "__main__":
    unittest.main()
