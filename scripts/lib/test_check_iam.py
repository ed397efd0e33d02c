"""The least-privilege check catches what it is there to catch (python -m unittest)."""

import unittest

from check_iam import problems


def role(*statements):
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}]
                },
            }
        }
    }


def allow(action, resource):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


class CheckIam(unittest.TestCase):
    def test_named_actions_on_named_resources_pass(self):
        template = role(allow(["dynamodb:PutItem"], {"Fn::GetAtt": ["Table", "Arn"]}))
        self.assertEqual(problems(template), [])

    def test_every_resource_fails(self):
        self.assertEqual(len(problems(role(allow("dynamodb:PutItem", "*")))), 1)

    def test_every_action_fails(self):
        self.assertEqual(len(problems(role(allow("dynamodb:*", "arn:aws:dynamodb:::table/t")))), 1)
        self.assertEqual(len(problems(role(allow("*", "arn:aws:dynamodb:::table/t")))), 1)

    def test_actions_that_name_no_resource_may_use_star(self):
        self.assertEqual(problems(role(allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"))), [])
        mixed = allow(["xray:PutTraceSegments", "sqs:SendMessage"], "*")
        self.assertEqual(len(problems(role(mixed))), 1)

    def test_not_action_fails(self):
        statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}
        self.assertEqual(len(problems(role(statement))), 1)

    def test_deny_statements_are_not_allowances(self):
        self.assertEqual(problems(role({"Effect": "Deny", "Action": "*", "Resource": "*"})), [])

    def test_resource_policies_written_as_json_text_are_read(self):
        template = {
            "Resources": {
                "LogPolicy": {
                    "Type": "AWS::Logs::ResourcePolicy",
                    "Properties": {
                        "PolicyDocument": {
                            "Fn::Sub": '{"Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}'
                        }
                    },
                }
            }
        }
        self.assertEqual(len(problems(template)), 1)

    def test_put_events_without_a_source_fails(self):
        bus = {"Fn::GetAtt": ["Bus", "Arn"]}
        self.assertEqual(len(problems(role(allow("events:PutEvents", bus)))), 1)

    def test_put_events_for_one_source_passes(self):
        statement = allow("events:PutEvents", {"Fn::GetAtt": ["Bus", "Arn"]})
        statement["Condition"] = {"StringEquals": {"events:source": "order-service"}}
        self.assertEqual(problems(role(statement)), [])

    def test_put_events_for_several_sources_or_a_pattern_fails(self):
        statement = allow("events:PutEvents", {"Fn::GetAtt": ["Bus", "Arn"]})
        statement["Condition"] = {"StringEquals": {"events:source": ["order-service", "payment-service"]}}
        self.assertEqual(len(problems(role(statement))), 1)
        statement["Condition"] = {"StringLike": {"events:source": "*"}}
        self.assertEqual(len(problems(role(statement))), 1)

    def test_a_queue_policy_for_a_service_must_name_the_sender(self):
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
        }
        template = {
            "Resources": {
                "QueuePolicy": {
                    "Type": "AWS::SQS::QueuePolicy",
                    "Properties": {"PolicyDocument": {"Statement": [statement]}},
                }
            }
        }
        self.assertEqual(len(problems(template)), 1)
        statement["Condition"] = {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/bus/rule"}}
        self.assertEqual(problems(template), [])

    def test_a_lambda_permission_for_a_service_must_name_the_source(self):
        permission = {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": ["Function", "Arn"]},
            "Principal": "apigateway.amazonaws.com",
        }
        template = {"Resources": {"Invoke": {"Type": "AWS::Lambda::Permission", "Properties": permission}}}
        self.assertEqual(len(problems(template)), 1)
        permission["SourceArn"] = {"Fn::Sub": "arn:aws:execute-api:us-east-1:1:${Api}/prod/*"}
        self.assertEqual(problems(template), [])


if __name__ == "__main__":
    unittest.main()
