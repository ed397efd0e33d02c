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


if __name__ == "__main__":
    unittest.main()
