"""The alarms-and-dashboard check catches what it is there to catch (python -m unittest)."""

import copy
import json
import tempfile
import unittest
from pathlib import Path

from check_metrics import catalogue_names, problems

CATALOGUE = {"OrdersPlaced", "OrderLatency", "EventsProcessed"}


def alarm(namespace, metric, dimensions, actions=({"Ref": "AlarmTopic"},)):
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "AlarmActions": list(actions),
        },
    }


def watched_stack():
    """A queue, a stream consumer and the state machine, each with the alarms it needs."""
    return {
        "Resources": {
            "AlarmTopic": {"Type": "AWS::SNS::Topic"},
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "ConsumerLogGroup": {"Type": "AWS::Logs::LogGroup"},
            "Consumer": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "FunctionName": {"Fn::Sub": "${AWS::StackName}-consumer"},
                    "LoggingConfig": {"LogGroup": {"Ref": "ConsumerLogGroup"}},
                    "Events": {"Stream": {"Type": "DynamoDB"}},
                },
            },
            "Machine": {"Type": "AWS::Serverless::StateMachine"},
            "DlqAlarm": alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": {"Fn::GetAtt": ["Dlq", "QueueName"]}}),
            "ErrorsAlarm": alarm("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "Consumer"}}),
            "ThrottlesAlarm": alarm("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "Consumer"}}),
            "AgeAlarm": alarm("AWS/Lambda", "IteratorAge", {"FunctionName": {"Ref": "Consumer"}}),
            "FailedAlarm": alarm("AWS/States", "ExecutionsFailed", {"StateMachineArn": {"Ref": "Machine"}}),
            "PlacedAlarm": alarm({"Ref": "MetricsNamespace"}, "OrdersPlaced", {"service": "consumer"}),
        }
    }


def with_resource(template, name, resource):
    template = copy.deepcopy(template)
    template["Resources"][name] = resource
    return template


def with_dashboard(template, *widgets):
    body = json.dumps({"widgets": list(widgets)})
    return with_resource(template, "Board", {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": {"Fn::Sub": body}}})


def metric_widget(*metrics):
    return {"type": "metric", "properties": {"title": "t", "metrics": list(metrics)}}


class CheckMetrics(unittest.TestCase):
    def test_a_watched_stack_passes(self):
        self.assertEqual(problems(watched_stack(), CATALOGUE), [])

    def test_a_metric_the_functions_do_not_emit_fails(self):
        template = with_resource(watched_stack(), "Typo", alarm({"Ref": "MetricsNamespace"}, "OrderPlaced", {"service": "consumer"}))
        self.assertEqual(len(problems(template, CATALOGUE)), 1)

    def test_an_own_metric_by_an_unknown_service_or_dimension_fails(self):
        unknown_service = alarm({"Ref": "MetricsNamespace"}, "OrdersPlaced", {"service": "nobody"})
        self.assertEqual(len(problems(with_resource(watched_stack(), "A", unknown_service), CATALOGUE)), 1)
        by_order = alarm({"Ref": "MetricsNamespace"}, "OrdersPlaced", {"orderId": "x"})
        self.assertEqual(len(problems(with_resource(watched_stack(), "A", by_order), CATALOGUE)), 1)

    def test_an_aws_metric_aws_does_not_publish_fails(self):
        template = with_resource(watched_stack(), "A", alarm("AWS/Lambda", "Failures", {"FunctionName": {"Ref": "Consumer"}}))
        self.assertEqual(len(problems(template, CATALOGUE)), 1)

    def test_a_dimension_naming_the_wrong_resource_fails(self):
        not_a_queue = alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": {"Fn::GetAtt": ["Consumer", "Arn"]}})
        self.assertEqual(len(problems(with_resource(watched_stack(), "A", not_a_queue), CATALOGUE)), 1)
        literal = alarm("AWS/Lambda", "Errors", {"FunctionName": "consumer"})
        self.assertEqual(len(problems(with_resource(watched_stack(), "A", literal), CATALOGUE)), 1)

    def test_an_unwatched_queue_or_function_fails(self):
        template = with_resource(watched_stack(), "OtherDlq", {"Type": "AWS::SQS::Queue"})
        self.assertEqual(problems(template, CATALOGUE), ["no alarm on a message waiting in the dead-letter queue OtherDlq"])
        template = copy.deepcopy(watched_stack())
        del template["Resources"]["AgeAlarm"], template["Resources"]["ThrottlesAlarm"]
        self.assertEqual(len(problems(template, CATALOGUE)), 2)

    def test_an_alarm_that_tells_nobody_fails(self):
        silent = alarm("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "Consumer"}}, actions=())
        self.assertEqual(len(problems(with_resource(watched_stack(), "A", silent), CATALOGUE)), 1)

    def test_dashboard_metrics_are_checked_like_the_alarms(self):
        good = metric_widget(
            ["${MetricsNamespace}", "OrderLatency", "service", "consumer", {"stat": "p99"}],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${Dlq.QueueName}"],
            [{"expression": "SEARCH('{${MetricsNamespace},service,eventType} MetricName=\"EventsProcessed\"', 'Sum', 60)"}],
        )
        self.assertEqual(problems(with_dashboard(watched_stack(), good), CATALOGUE), [])
        for bad in (
            ["${MetricsNamespace}", "OrderLatencies", "service", "consumer"],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${Consumer}"],
            [{"expression": "SEARCH('{${MetricsNamespace},service} MetricName=\"EventsSeen\"', 'Sum', 60)"}],
            ["AWS/Lambda", "Errors"],
        ):
            with self.subTest(bad=bad):
                self.assertEqual(len(problems(with_dashboard(watched_stack(), metric_widget(bad)), CATALOGUE)), 1)

    def test_the_log_widget_reads_only_the_functions_log_groups(self):
        query = "SOURCE '${ConsumerLogGroup}' | fields @message"
        log = {"type": "log", "properties": {"query": query}}
        self.assertEqual(problems(with_dashboard(watched_stack(), log), CATALOGUE), [])
        log["properties"]["query"] = "SOURCE '/aws/lambda/elsewhere' | fields @message"
        self.assertEqual(len(problems(with_dashboard(watched_stack(), log), CATALOGUE)), 1)

    def test_the_catalogue_is_read_from_its_constants(self):
        with tempfile.TemporaryDirectory() as folder:
            names = Path(folder) / "names.rs"
            names.write_text('/// Count.\npub const ORDERS_PLACED: &str = "OrdersPlaced";\npub const OTHER: &str = "Other";\n')
            self.assertEqual(catalogue_names(names), {"OrdersPlaced", "Other"})
            names.write_text("// nothing\n")
            with self.assertRaises(SystemExit):
                catalogue_names(names)


if __name__ == "__main__":
    unittest.main()
