"""The API check catches what it is there to catch (python -m unittest): each test breaks one
rule in a copy of the real template and expects the check to say so."""

import copy
import unittest
from pathlib import Path

from cfnlint.decode import decode

from check_api import PARAMETER_SETS, authorizer_problems, deployed, deployment_name_problems, problems

TEMPLATE, _ = decode(str(Path(__file__).resolve().parents[2] / "infra" / "template.yaml"))
COGNITO, EXTERNAL = PARAMETER_SETS.values()


def template():
    return copy.deepcopy(TEMPLATE)


def body(t):
    return t["Resources"]["OrderApi"]["Properties"]["Body"]


def stage(t):
    return t["Resources"]["OrderApiprodStage"]["Properties"]


class TheTemplate(unittest.TestCase):
    def test_passes_with_either_sign_in(self):
        self.assertEqual(problems(template(), COGNITO), [])
        self.assertEqual(problems(template(), EXTERNAL), [])
        translated, _ = deployed(template(), {})
        self.assertEqual(deployment_name_problems(template(), translated), [])

    def test_makes_the_user_pool_only_without_an_issuer(self):
        _, with_pool = deployed(template(), COGNITO)
        _, without = deployed(template(), EXTERNAL)
        self.assertIn("UserPool", with_pool)
        self.assertNotIn("UserPool", without)


class Authorizer(unittest.TestCase):
    def test_a_method_without_the_authorizer_fails_only_when_the_pool_is_made(self):
        t = template()
        body(t)["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]["security"] = []
        found = problems(t, COGNITO)
        self.assertEqual(len(found), 1, found)
        self.assertIn("ANY /{proxy+} has no Cognito authorizer", found[0])
        self.assertEqual(problems(t, EXTERNAL), [])

    def test_every_other_method_of_the_public_path_needs_a_token(self):
        t = template()
        body(t)["paths"]["/openapi.yaml"]["x-amazon-apigateway-any-method"]["security"] = []
        self.assertEqual(len(problems(t, COGNITO)), 1)

    def test_an_authorizer_of_another_pool_does_not_count(self):
        t = template()
        definition = body(t)["securityDefinitions"]["Fn::If"][1]["CognitoUserPool"]
        definition["x-amazon-apigateway-authorizer"]["providerARNs"] = [
            "arn:aws:cognito-idp:us-east-1:111111111111:userpool/us-east-1_other"
        ]
        self.assertEqual(len(problems(t, COGNITO)), 3)

    def test_the_api_description_must_stay_public(self):
        t = template()
        body(t)["paths"]["/openapi.yaml"]["get"]["security"] = [{"CognitoUserPool": []}]
        found = problems(t, COGNITO)
        self.assertEqual(len(found), 1, found)
        self.assertIn("GET /openapi.yaml must stay public", found[0])

    def test_an_api_the_check_cannot_read_fails(self):
        t = template()
        del body(t)["paths"]
        self.assertIn("no API method found", " ".join(problems(t, COGNITO)))

    def test_a_sam_api_is_read_after_the_transform(self):
        """The rules hold for what SAM generates too: an AWS::Serverless::Api whose functions'
        events add their routes, without the authorizer on one of them."""
        t = template()
        resources = t["Resources"]
        for name in ("OrderApi", "OrderApiCognitoDeployment9c5a5c02", "OrderApiOidcDeployment9c5a5c02", "OrderApiprodStage"):
            del resources[name]
        resources["OrderApiUsagePlan"]["Properties"]["ApiStages"] = [{"ApiId": {"Ref": "OrderApi"}, "Stage": "prod"}]
        resources["OrderApiInvokesCreateOrder"]["Properties"]["SourceArn"] = "arn:aws:execute-api:us-east-1:1:x/prod/*"
        resources["OrderApi"] = {
            "Type": "AWS::Serverless::Api",
            "Properties": {
                "StageName": "prod",
                "Auth": {
                    "DefaultAuthorizer": "CognitoUserPool",
                    "Authorizers": {"CognitoUserPool": {"UserPoolArn": {"Fn::GetAtt": ["UserPool", "Arn"]}}},
                },
            },
        }
        resources["CreateOrderFunction"]["Properties"]["Events"] = {
            "All": {"Type": "Api", "Properties": {"RestApiId": {"Ref": "OrderApi"}, "Path": "/{proxy+}", "Method": "ANY"}},
            "Doc": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": "OrderApi"},
                    "Path": "/openapi.yaml",
                    "Method": "GET",
                    "Auth": {"Authorizer": "NONE"},
                },
            },
            "Open": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": "OrderApi"},
                    "Path": "/orders",
                    "Method": "POST",
                    "Auth": {"Authorizer": "NONE"},
                },
            },
        }
        found = problems(t, COGNITO)
        self.assertIn("OrderApi POST /orders has no Cognito authorizer of the stack's user pool", found)
        self.assertFalse([p for p in found if "/{proxy+}" in p or "/openapi.yaml" in p], found)

    def test_methods_declared_one_by_one_are_read_too(self):
        root = {"Fn::GetAtt": ["Api", "RootResourceId"]}
        cognito = {"AuthorizationType": "COGNITO_USER_POOLS", "AuthorizerId": {"Ref": "Authorizer"}}

        def method(resource, verb, **auth):
            properties = {"RestApiId": {"Ref": "Api"}, "ResourceId": resource, "HttpMethod": verb}
            return {"Type": "AWS::ApiGateway::Method", "Properties": {**properties, **auth}}

        resources = {
            "UserPool": {"Type": "AWS::Cognito::UserPool"},
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
            "Authorizer": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {"Type": "COGNITO_USER_POOLS", "ProviderARNs": [{"Fn::GetAtt": ["UserPool", "Arn"]}]},
            },
            "Orders": {"Type": "AWS::ApiGateway::Resource", "Properties": {"ParentId": root, "PathPart": "orders"}},
            "Document": {"Type": "AWS::ApiGateway::Resource", "Properties": {"ParentId": root, "PathPart": "openapi.yaml"}},
            "Place": method({"Ref": "Orders"}, "POST", **cognito),
            "Read": method({"Ref": "Orders"}, "GET", AuthorizationType="NONE"),
            "Describe": method({"Ref": "Document"}, "GET", AuthorizationType="NONE"),
            "Root": method(root, "ANY", **cognito),
        }
        self.assertEqual(authorizer_problems(resources), ["Api GET /orders has no Cognito authorizer of the stack's user pool"])


class Throttling(unittest.TestCase):
    def test_a_stage_without_the_throttle_fails(self):
        t = template()
        del stage(t)["MethodSettings"]
        self.assertEqual(len(problems(t, COGNITO)), 1)

    def test_a_throttle_not_taken_from_the_parameters_fails(self):
        t = template()
        stage(t)["MethodSettings"][0]["ThrottlingRateLimit"] = 10000
        self.assertEqual(len(problems(t, EXTERNAL)), 2)  # not every method by the parameter; this one otherwise

    def test_a_throttle_of_some_methods_only_fails(self):
        t = template()
        stage(t)["MethodSettings"][0]["ResourcePath"] = "/~1orders"
        self.assertEqual(len(problems(t, COGNITO)), 1)

    def test_a_method_setting_that_lifts_the_throttle_for_some_methods_fails(self):
        t = template()
        stage(t)["MethodSettings"].append(
            {"ResourcePath": "/~1orders", "HttpMethod": "POST", "ThrottlingRateLimit": 5000, "ThrottlingBurstLimit": 5000}
        )
        self.assertEqual(len(problems(t, COGNITO)), 2)

    def test_a_stage_without_the_usage_plan_fails(self):
        t = template()
        del t["Resources"]["OrderApiUsagePlan"]
        found = problems(t, COGNITO)
        self.assertEqual(len(found), 1, found)
        self.assertIn("no usage plan", found[0])

    def test_a_usage_plan_with_another_throttle_fails(self):
        t = template()
        t["Resources"]["OrderApiUsagePlan"]["Properties"]["Throttle"]["BurstLimit"] = 5000
        self.assertEqual(len(problems(t, EXTERNAL)), 1)


class AccessLogs(unittest.TestCase):
    def log_format(self, t):
        return stage(t)["AccessLogSetting"]["Format"]

    def with_format(self, text):
        t = template()
        stage(t)["AccessLogSetting"]["Format"] = text
        return problems(t, COGNITO)

    def test_a_stage_without_access_logs_fails(self):
        t = template()
        del stage(t)["AccessLogSetting"]
        self.assertEqual(len(problems(t, COGNITO)), 1)

    def test_a_header_a_token_or_a_body_in_the_log_fails(self):
        base = self.log_format(template())[:-1]
        for leak in (
            "$context.identity.userAgent",
            "$method.request.header.Authorization",
            "$input.body",
            "$context.identity.apiKey",
            "$context.authorizer.claims.email",
            "$context.requestOverride.header.Authorization",
        ):
            with self.subTest(leak=leak):
                found = self.with_format(base + f', "leak":"{leak}"}}')
                self.assertEqual(len(found), 1, found)
                self.assertIn(f"must not log {leak}", found[0])

    def test_a_log_line_that_is_not_one_json_object_fails(self):
        for text in (self.log_format(template()).replace('", "', '" "', 1), '{"requestId": $context.requestId}'):
            with self.subTest(text=text):
                self.assertIn("is not a JSON object", " ".join(self.with_format(text)))

    def test_a_log_without_the_required_fields_fails(self):
        text = self.log_format(template()).replace('"sub":"$context.authorizer.claims.sub", ', "")
        found = self.with_format(text)
        self.assertEqual(len(found), 1, found)
        self.assertIn("$context.authorizer.claims.sub", found[0])

    def test_a_log_group_without_retention_fails(self):
        t = template()
        del t["Resources"]["ApiAccessLogGroup"]["Properties"]["RetentionInDays"]
        self.assertEqual(len(problems(t, EXTERNAL)), 1)


class GatewayResponses(unittest.TestCase):
    def responses(self, t):
        return body(t)["x-amazon-apigateway-gateway-responses"]

    def test_a_401_without_www_authenticate_fails(self):
        t = template()
        del self.responses(t)["UNAUTHORIZED"]["responseParameters"]
        found = problems(t, COGNITO)
        self.assertEqual(len(found), 1, found)
        self.assertIn("WWW-Authenticate", found[0])

    def test_a_401_that_is_not_json_or_not_401_fails(self):
        t = template()
        self.responses(t)["UNAUTHORIZED"]["responseTemplates"]["application/json"] = "Unauthorized"
        self.assertEqual(len(problems(t, COGNITO)), 1)
        t = template()
        self.responses(t)["UNAUTHORIZED"]["statusCode"] = "403"
        self.assertEqual(len(problems(t, COGNITO)), 1)

    def test_a_missing_throttled_or_access_denied_response_fails(self):
        for kind in ("THROTTLED", "ACCESS_DENIED", "DEFAULT_5XX"):
            with self.subTest(kind=kind):
                t = template()
                del self.responses(t)[kind]
                self.assertEqual(len(problems(t, EXTERNAL)), 1)


class Redeploys(unittest.TestCase):
    def test_a_changed_definition_under_the_old_deployment_names_fails(self):
        t = template()
        body(t)["paths"]["/openapi.yaml"]["get"]["x-amazon-apigateway-integration"]["timeoutInMillis"] = 5000
        translated, _ = deployed(t, {})
        found = deployment_name_problems(t, translated)
        self.assertEqual(len(found), 2, found)  # one deployment per sign-in mode
        self.assertIn("rename it OrderApiCognitoDeployment", found[0])

    def test_a_stage_serving_a_deployment_not_made_fails(self):
        t = template()
        stage(t)["DeploymentId"] = {"Ref": "OrderApiCognitoDeployment9c5a5c02"}
        self.assertEqual(problems(t, COGNITO), [])
        self.assertEqual(len(problems(t, EXTERNAL)), 1)

    def test_a_stage_that_does_not_wait_for_the_account_role_fails(self):
        t = template()
        del t["Resources"]["OrderApiprodStage"]["Metadata"]
        self.assertEqual(len(problems(t, COGNITO)), 1)  # the set that creates the role
        self.assertEqual(problems(t, EXTERNAL), [])


if __name__ == "__main__":
    unittest.main()
