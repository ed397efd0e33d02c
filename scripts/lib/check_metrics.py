#!/usr/bin/env python3
"""Every alarm and dashboard watches something that exists, and everything that can break is
watched. LocalStack skips dashboards and evaluates only some alarms, and an alarm on a metric
nobody emits stays quiet forever; so this is where the template is held to it. Fails when:

- an alarm or a dashboard widget names a metric of the functions' namespace (MetricsNamespace)
  that the code does not emit (the catalogue, crates/adapters/src/metrics/names.rs, through which
  every metric is emitted), or a dimension other than `service` and `eventType`, or a `service`
  that is not one of the functions;
- it names an AWS metric that AWS does not publish (AWS_METRICS, from AWS's documentation of each
  namespace's metrics) or with other dimensions, or a dimension whose value is not the right kind
  of resource of this template (a queue's name, a function, the state machine, the API's stage);
- a dead-letter queue (every queue of the template is one) has no alarm on a message waiting in
  it; a function has no alarm on its errors or on its throttles; a stream consumer none on its
  iterator age; or an alarm does not go to the alarm topic;
- the dashboard's Logs Insights widget reads a log group that is not one of the functions'.

  check_metrics.py infra/template.yaml
"""

import json
import re
from pathlib import Path

from template_check import report, resources_of_type, template_from_argv

CATALOGUE = Path(__file__).resolve().parents[2] / "crates/adapters/src/metrics/names.rs"
CATALOGUE_ENTRY = re.compile(r'pub const [A-Z_]+: &str = "(\w+)";')
OWN_NAMESPACE = {"Ref": "MetricsNamespace"}
OWN_DIMENSIONS = {"service", "eventType"}
ALARM_TOPIC = {"Ref": "AlarmTopic"}

# What each AWS namespace publishes, by metric, and the dimensions this template may name it by:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/aws-services-cloudwatch-metrics.html
# and the service guides it links (SQS "Available CloudWatch metrics for Amazon SQS", Lambda
# "Types of metrics for Lambda functions", Step Functions "Execution metrics", API Gateway
# "Amazon API Gateway dimensions and metrics" for REST APIs).
AWS_METRICS = {
    "AWS/SQS": (
        {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage",
         "ApproximateNumberOfMessagesNotVisible", "NumberOfMessagesSent", "NumberOfMessagesReceived"},
        ("QueueName",),
    ),
    "AWS/Lambda": (
        {"Invocations", "Errors", "Throttles", "Duration", "IteratorAge", "ConcurrentExecutions",
         "DeadLetterErrors", "DestinationDeliveryFailures"},
        ("FunctionName",),
    ),
    "AWS/States": (
        {"ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut",
         "ExecutionsAborted", "ExecutionThrottled", "ExecutionTime"},
        ("StateMachineArn",),
    ),
    "AWS/ApiGateway": (
        {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"},
        ("ApiName", "Stage"),
    ),
}
# The resource each AWS dimension's value must be, as a reference the template can make to it.
DIMENSION_RESOURCES = {
    "QueueName": ("AWS::SQS::Queue", "QueueName"),
    "FunctionName": ("AWS::Serverless::Function", None),
    "StateMachineArn": ("AWS::Serverless::StateMachine", None),
    "Stage": ("AWS::ApiGateway::Stage", None),
}
STREAM_EVENT = "DynamoDB"


def catalogue_names(path=CATALOGUE):
    """The metric names the functions emit, read from the catalogue; exits when it is missing."""
    text = path.read_text()
    names = set(CATALOGUE_ENTRY.findall(text))
    if not names:
        raise SystemExit(f"no metric names in {path}")
    return names


def service_names(template):
    """Each function's service name: its FunctionName, `${AWS::StackName}-<service>`."""
    names = set()
    for resource in resources_of_type(template, "AWS::Serverless::Function").values():
        name = (resource.get("Properties") or {}).get("FunctionName")
        if isinstance(name, dict) and "Fn::Sub" in name:
            names.add(str(name["Fn::Sub"]).removeprefix("${AWS::StackName}-"))
    return names


def api_name(template):
    for resource in resources_of_type(template, "AWS::ApiGateway::RestApi").values():
        return (resource.get("Properties") or {}).get("Name")
    return None


# ---------------------------------------------------------------- what the alarms and widgets name
class Watched:
    """One metric as an alarm or a widget names it: where, namespace, name, {dimension: value}."""

    def __init__(self, where, namespace, name, dimensions):
        self.where, self.namespace, self.name, self.dimensions = where, namespace, name, dimensions


def alarm_metrics(template):
    for name, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        props = alarm.get("Properties") or {}
        stats = [props] if "MetricName" in props else [
            (query.get("MetricStat") or {}).get("Metric") or {} for query in props.get("Metrics") or []
        ]
        for stat in stats:
            if "MetricName" in stat:
                dimensions = {d["Name"]: d["Value"] for d in stat.get("Dimensions") or []}
                yield Watched(f"alarm {name}", stat.get("Namespace"), stat["MetricName"], dimensions)


# ${Name} and ${Name.Attribute} in a dashboard's body, as the references they stand for.
SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}")
SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s+MetricName=\"(\w+)\"")


def dashboard_body(dashboard):
    """The body's JSON with each ${...} replaced by a marker that `reference` turns back into the
    reference it stands for."""
    body = (dashboard.get("Properties") or {}).get("DashboardBody")
    text = body["Fn::Sub"] if isinstance(body, dict) else body
    text = text[0] if isinstance(text, list) else text
    return json.loads(SUB_VARIABLE.sub(lambda m: "@@" + ".".join(filter(None, m.groups())) + "@@", text))


def reference(value):
    """A dashboard value back as the template reference it was (`@@X@@` -> Ref X, `@@X.A@@` ->
    GetAtt X.A), and `@@AWS::StackName@@-rest` as the Fn::Sub it was."""
    if not isinstance(value, str) or "@@" not in value:
        return value
    whole = re.fullmatch(r"@@([^@]+)@@", value)
    if whole:
        target = whole.group(1)
        if "." in target:
            return {"Fn::GetAtt": target.split(".", 1)}
        return {"Ref": target}
    return {"Fn::Sub": re.sub(r"@@([^@]+)@@", r"${\1}", value)}


def dashboard_metrics(template):
    for name, dashboard in resources_of_type(template, "AWS::CloudWatch::Dashboard").items():
        for widget in dashboard_body(dashboard).get("widgets", []):
            if widget.get("type") != "metric":
                continue
            where = f"dashboard {name}, widget {widget['properties'].get('title')!r}"
            for entry in widget["properties"].get("metrics", []):
                options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
                if "expression" in options:
                    for keys, metric in SEARCH.findall(options["expression"]):
                        namespace, *dimension_names = [k.strip() for k in keys.split(",")]
                        dimensions = {d: None for d in dimension_names}
                        yield Watched(where, reference(namespace), metric, dimensions)
                    continue
                fields = [f for f in entry if not isinstance(f, dict)]
                if len(fields) < 2 or len(fields) % 2:
                    yield Watched(where, None, f"unreadable entry {entry}", {})
                    continue
                dimensions = {fields[i]: reference(fields[i + 1]) for i in range(2, len(fields), 2)}
                yield Watched(where, reference(fields[0]), fields[1], dimensions)


def log_widget_groups(template):
    for name, dashboard in resources_of_type(template, "AWS::CloudWatch::Dashboard").items():
        for widget in dashboard_body(dashboard).get("widgets", []):
            if widget.get("type") == "log":
                for group in re.findall(r"SOURCE '([^']*)'", widget["properties"].get("query", "")):
                    yield name, reference(group)


# ---------------------------------------------------------------- the checks
def dimension_problems(template, watched, names):
    problems = []
    for dimension, value in watched.dimensions.items():
        if dimension not in names:
            problems.append(f"dimension {dimension} (it has {', '.join(names)})")
        elif dimension in DIMENSION_RESOURCES and value is not None:
            kind, attribute = DIMENSION_RESOURCES[dimension]
            value = value if isinstance(value, dict) else {}
            target = value.get("Fn::GetAtt", [None, None]) if attribute else [value.get("Ref"), None]
            target_kind = ((template.get("Resources") or {}).get(target[0]) or {}).get("Type")
            if target_kind != kind or (attribute and target[1] != attribute):
                problems.append(f"{dimension} {json.dumps(watched.dimensions[dimension])}, not a {kind}" + (f"'s {attribute}" if attribute else ""))
        elif dimension == "ApiName" and value != api_name(template):
            problems.append(f"ApiName {json.dumps(value)}, not the API's name {json.dumps(api_name(template))}")
    missing = [d for d in names if d not in watched.dimensions]
    if missing:
        problems.append(f"no {', '.join(missing)} dimension")
    return problems


def metric_problems(template, catalogue):
    problems = []
    services = service_names(template)
    for watched in [*alarm_metrics(template), *dashboard_metrics(template)]:
        what = f"{watched.where}: {watched.name}"
        if watched.namespace == OWN_NAMESPACE:
            if watched.name not in catalogue:
                problems.append(f"{what} is not emitted by the functions (not in {CATALOGUE.name})")
            for dimension, value in watched.dimensions.items():
                if dimension not in OWN_DIMENSIONS:
                    problems.append(f"{what} has the dimension {dimension}; the functions emit only {sorted(OWN_DIMENSIONS)}")
                elif dimension == "service" and value is not None and value not in services:
                    problems.append(f"{what}: no function is the service {value!r}")
        elif watched.namespace in AWS_METRICS:
            metrics, dimensions = AWS_METRICS[watched.namespace]
            if watched.name not in metrics:
                problems.append(f"{what}: {watched.namespace} publishes no such metric")
            problems += [f"{what}: {p}" for p in dimension_problems(template, watched, dimensions)]
        else:
            problems.append(f"{what}: unknown namespace {json.dumps(watched.namespace)}")
    return problems


def coverage_problems(template):
    problems = []
    alarms = list(alarm_metrics(template))

    def watched_by(namespace, metric, dimension, value):
        return any(
            a.namespace == namespace and a.name == metric and a.dimensions.get(dimension) == value
            for a in alarms
        )

    for queue in resources_of_type(template, "AWS::SQS::Queue"):
        if not watched_by("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [queue, "QueueName"]}):
            problems.append(f"no alarm on a message waiting in the dead-letter queue {queue}")
    for function, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        for metric in ("Errors", "Throttles"):
            if not watched_by("AWS/Lambda", metric, "FunctionName", {"Ref": function}):
                problems.append(f"no alarm on the {metric.lower()} of {function}")
        events = ((resource.get("Properties") or {}).get("Events") or {}).values()
        if any(e.get("Type") == STREAM_EVENT for e in events) and not watched_by("AWS/Lambda", "IteratorAge", "FunctionName", {"Ref": function}):
            problems.append(f"no alarm on the iterator age of the stream consumer {function}")
    for name, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        if ALARM_TOPIC not in ((alarm.get("Properties") or {}).get("AlarmActions") or []):
            problems.append(f"alarm {name} does not go to the alarm topic")
    log_groups = {
        ((r.get("Properties") or {}).get("LoggingConfig") or {}).get("LogGroup", {}).get("Ref")
        for r in resources_of_type(template, "AWS::Serverless::Function").values()
    }
    for dashboard, group in log_widget_groups(template):
        if not (isinstance(group, dict) and group.get("Ref") in log_groups):
            problems.append(f"dashboard {dashboard}'s log query reads {json.dumps(group)}, not a function's log group")
    return problems


def problems(template, catalogue):
    return metric_problems(template, catalogue) + coverage_problems(template)


def main():
    template = template_from_argv(__doc__)
    found = report("[metrics]", problems(template, catalogue_names()))
    if found:
        raise SystemExit(f"[metrics] {found} problem(s)")
    print("[metrics] every alarm and dashboard metric is emitted; every queue, function and stream consumer is watched")


if __name__ == "__main__":
    main()
