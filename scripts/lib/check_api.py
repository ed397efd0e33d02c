#!/usr/bin/env python3
"""The order API's rules, checked on the template as CloudFormation runs it: after the SAM
transform (the translator LocalStack 2026.3 bundles), once for each way of signing in, the
stack's Cognito user pool and an external OIDC issuer. LocalStack enforces neither authorizers
nor throttling, so this is where those rules are held to. Fails when:

- the stack makes a Cognito user pool and a method other than GET /openapi.yaml lacks a Cognito
  authorizer of that pool (or GET /openapi.yaml, the API's public description, has one);
- a stage does not throttle every method (`/*`, `*`) with the ApiThrottleRate and ApiThrottleBurst
  parameters, or another method setting throttles some methods otherwise, or no usage plan on the
  stage has the same throttle;
- a stage has no access log, or logs to a log group without retention, or its format is not one
  JSON object, or uses a variable outside the few that cannot carry a token, a header or a body;
- a refused token's 401 (UNAUTHORIZED) lacks `WWW-Authenticate: Bearer` or a JSON body, or the
  403, 429 and default 4XX/5XX responses have no JSON body;
- a deployment the template declares is not named for the API definition it snapshots (a stage
  serves its deployment's snapshot, and CloudFormation makes a new deployment only for a new
  logical id: a changed definition with the old name would never reach the stage);
- the stack sets the account's API Gateway logging role and a stage with access logging does not
  wait for it (creating the stage fails until the account names a role).

  check_api.py infra/template.yaml
"""

import hashlib
import json
import re
import sys

from artifacts import located_in
from template_check import report, template_from_argv

# The two ways of signing in, each checked (with the account role created in the first, so that
# the stage's wait for it is checked too).
PARAMETER_SETS = {
    "the stack's Cognito user pool": {"OidcIssuer": "", "ApiGatewayAccountRole": "create"},
    "an external OIDC issuer": {
        "OidcIssuer": "https://issuer.example.com",
        "OidcAudience": "example-client",
        "ApiGatewayAccountRole": "existing",
    },
}

THROTTLE_RATE, THROTTLE_BURST = {"Ref": "ApiThrottleRate"}, {"Ref": "ApiThrottleBurst"}
PUBLIC_METHODS = {("GET", "/openapi.yaml")}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
ANY_METHOD = "x-amazon-apigateway-any-method"

# What an access log line may hold: about the request and how it went, never what the caller
# sent (no header, so no token or user agent; no body; no API key) and of the caller only the
# source IP and the checked token's sub.
ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.extendedRequestId",
    "$context.requestTime",
    "$context.requestTimeEpoch",
    "$context.identity.sourceIp",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.path",
    "$context.protocol",
    "$context.stage",
    "$context.status",
    "$context.error.responseType",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integration.latency",
    "$context.integration.status",
    "$context.integrationLatency",
    "$context.authorize.error",
    "$context.authorize.status",
    "$context.authorize.latency",
    "$context.authorizer.error",
    "$context.authorizer.status",
    "$context.authorizer.latency",
    "$context.authorizer.claims.sub",
    "$context.xrayTraceId",
}
ACCESS_LOG_REQUIRED = {
    "$context.requestId",
    "$context.identity.sourceIp",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.status",
    "$context.responseLatency",
    "$context.responseLength",
    "$context.authorizer.error",
    "$context.authorizer.claims.sub",
}
VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*")

# Gateway responses: type -> the status it must have (None: the type's default).
JSON_RESPONSES = {
    "UNAUTHORIZED": "401",
    "ACCESS_DENIED": "403",
    "THROTTLED": "429",
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
}

NO_VALUE = object()


# ---------------------------------------------------------------- the template, as deployed


def translate(template, parameters):
    """The template after the SAM transform, as CloudFormation gets it with these parameters."""
    import boto3

    try:
        from samtranslator.metrics.metrics import Metrics
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
    except ImportError:
        sys.exit("[api] the SAM translator is missing: aws-sam-translator, pinned in scripts/lib/tools-requirements.txt")

    metrics = Metrics()  # recorded for nobody: published at once, so that it does not warn
    session = boto3.session.Session(region_name="us-east-1")
    translator = Translator(None, Parser(), boto_session=session, metrics=metrics)
    # The translator takes code in S3 only, as the deploy script uploads it (sam build's local
    # folders are not the API's concern).
    located = located_in(template, "artifacts", "build/0")
    translated = translator.translate(located, parameter_values=dict(parameters))
    metrics.publish()
    return translated


def parameter_values(template, overrides):
    declared = (template.get("Parameters") or {}).items()
    values = {name: str(spec["Default"]) for name, spec in declared if "Default" in spec}
    values.update(overrides)
    return values


def evaluate_conditions(template, parameters):
    definitions = template.get("Conditions") or {}
    results = {}

    def value(node):
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return parameters.get(arg, arg)
            if key == "Condition":
                return condition(arg)
            if key == "Fn::Equals":
                return str(value(arg[0])) == str(value(arg[1]))
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::And":
                return all(value(a) for a in arg)
            if key == "Fn::Or":
                return any(value(a) for a in arg)
            raise ValueError(f"cannot evaluate {key} in a condition")
        return node

    def condition(name):
        if name not in results:
            results[name] = bool(value(definitions[name]))
        return results[name]

    for name in definitions:
        condition(name)
    return results


def resolve_ifs(node, conditions):
    """Chooses each Fn::If's branch and drops AWS::NoValue; leaves every other function as it is
    (so that a property still says which parameter it takes)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return resolve_ifs(when_true if conditions[name] else when_false, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        resolved = {k: resolve_ifs(v, conditions) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}
    if isinstance(node, list):
        return [v for v in (resolve_ifs(v, conditions) for v in node) if v is not NO_VALUE]
    return node


def deployed(template, overrides):
    """The resources CloudFormation would create with these parameters: translated, those whose
    condition is false left out, every Fn::If decided."""
    parameters = parameter_values(template, overrides)
    translated = translate(template, parameters)
    conditions = evaluate_conditions(translated, parameters)
    resources = {}
    for name, resource in (translated.get("Resources") or {}).items():
        if resource.get("Condition") and not conditions[resource["Condition"]]:
            continue
        resources[name] = resolve_ifs(resource, conditions)
    return translated, resources


# ---------------------------------------------------------------- reading the API


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r.get("Type") == kind}


def props(resource):
    return resource.get("Properties") or {}


def ref_name(value):
    """The logical id a Ref or GetAtt names (None for anything else)."""
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def references(node):
    """Every logical id a node names through Ref, GetAtt or Sub."""
    found = set()
    if isinstance(node, dict):
        name = ref_name(node)
        if name:
            found.add(name)
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            found.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def user_pool_of(authorizer_type, provider_arns, resources):
    """The user pool of the template a Cognito authorizer uses, or None."""
    if str(authorizer_type).lower() != "cognito_user_pools":
        return None
    pools = of_type(resources, "AWS::Cognito::UserPool")
    names = [ref_name(arn) for arn in provider_arns or []]
    return next((n for n in names if n in pools), None)


def methods(resources):
    """(api, HTTP method or ANY, path, the user pool checking its tokens or None) for every method."""
    found = []
    for api, resource in of_type(resources, "AWS::ApiGateway::RestApi").items():
        body = props(resource).get("Body")
        if not isinstance(body, dict):
            continue
        schemes = body.get("securityDefinitions") or (body.get("components") or {}).get("securitySchemes") or {}
        for path, item in (body.get("paths") or {}).items():
            for key, operation in (item or {}).items():
                if key != ANY_METHOD and key not in HTTP_METHODS:
                    continue
                pool = None
                # An operation without its own requirement has the document's.
                for requirement in operation.get("security", body.get("security")) or []:
                    for scheme in requirement:
                        authorizer = (schemes.get(scheme) or {}).get("x-amazon-apigateway-authorizer") or {}
                        pool = pool or user_pool_of(authorizer.get("type"), authorizer.get("providerARNs"), resources)
                found.append((api, "ANY" if key == ANY_METHOD else key.upper(), path, pool))
    # Methods declared one by one.
    paths = {}

    def path_of(resource_id):
        name = ref_name(resource_id)
        if resources.get(name, {}).get("Type") != "AWS::ApiGateway::Resource":
            return "/"  # the API's root resource (GetAtt Api.RootResourceId)
        if name not in paths:
            part = props(resources[name])
            parent = path_of(part.get("ParentId"))
            paths[name] = parent.rstrip("/") + "/" + str(part.get("PathPart"))
        return paths[name]

    authorizers = of_type(resources, "AWS::ApiGateway::Authorizer")
    for resource in of_type(resources, "AWS::ApiGateway::Method").values():
        p = props(resource)
        pool = None
        if p.get("AuthorizationType") == "COGNITO_USER_POOLS":
            authorizer = props(authorizers.get(ref_name(p.get("AuthorizerId")), {}))
            pool = user_pool_of(authorizer.get("Type"), authorizer.get("ProviderARNs"), resources)
        found.append((ref_name(p.get("RestApiId")), str(p.get("HttpMethod")).upper(), path_of(p.get("ResourceId")), pool))
    return found


def gateway_responses(resources):
    """{(api, type): (status, headers, templates)} from Bodies and GatewayResponse resources."""
    found = {}
    for api, resource in of_type(resources, "AWS::ApiGateway::RestApi").items():
        body = props(resource).get("Body")
        if isinstance(body, dict):
            for kind, response in (body.get("x-amazon-apigateway-gateway-responses") or {}).items():
                headers = {
                    k.removeprefix("gatewayresponse.header.").lower(): v
                    for k, v in (response.get("responseParameters") or {}).items()
                    if k.startswith("gatewayresponse.header.")
                }
                found[(api, kind)] = (response.get("statusCode"), headers, response.get("responseTemplates") or {})
    for resource in of_type(resources, "AWS::ApiGateway::GatewayResponse").values():
        p = props(resource)
        headers = {
            k.removeprefix("gatewayresponse.header.").lower(): v
            for k, v in (p.get("ResponseParameters") or {}).items()
            if k.startswith("gatewayresponse.header.")
        }
        found[(ref_name(p.get("RestApiId")), p.get("ResponseType"))] = (
            p.get("StatusCode"),
            headers,
            p.get("ResponseTemplates") or {},
        )
    return found


def renders_json(template_text):
    """Whether a response template gives one JSON object with `error` and `message` (the
    variables as API Gateway fills them: messageString comes quoted, the rest bare)."""
    text = template_text.replace("$context.error.messageString", '"a message"')
    text = VARIABLE.sub("x", text)
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body and "message" in body


def definition_hash(body):
    """What a deployment of a Body-defined API is named for: the Body as written (before any
    condition is decided, so that both sign-in modes give the same hash)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:8]


# ---------------------------------------------------------------- the rules


def authorizer_problems(resources):
    found = []
    every = methods(resources)
    if not every:
        return ["no API method found: the template declares no REST API this check can read"]
    makes_pool = bool(of_type(resources, "AWS::Cognito::UserPool"))
    for api, method, path, pool in every:
        public = (method, path) in PUBLIC_METHODS
        if public and pool:
            found.append(f"{api} {method} {path} must stay public, but needs a token")
        elif makes_pool and not public and not pool:
            found.append(f"{api} {method} {path} has no Cognito authorizer of the stack's user pool")
    return found


def throttle_problems(resources):
    found = []
    stages = of_type(resources, "AWS::ApiGateway::Stage")
    if not stages:
        found.append("no stage found")
    for name, stage in stages.items():
        settings = props(stage).get("MethodSettings") or []
        everything = [
            s for s in settings if s.get("ResourcePath") in ("/*", "~1*") and s.get("HttpMethod") == "*"
        ]
        if not any(
            s.get("ThrottlingRateLimit") == THROTTLE_RATE and s.get("ThrottlingBurstLimit") == THROTTLE_BURST
            for s in everything
        ):
            found.append(f"{name}: no method setting throttles every method (/*, *) with ApiThrottleRate and ApiThrottleBurst")
        for s in settings:
            for key, wanted in (("ThrottlingRateLimit", THROTTLE_RATE), ("ThrottlingBurstLimit", THROTTLE_BURST)):
                if key in s and s[key] != wanted:
                    found.append(f"{name}: {s.get('HttpMethod')} {s.get('ResourcePath')} sets {key} to {s[key]}, not {wanted}")
        api = ref_name(props(stage).get("RestApiId"))
        plans = [
            plan
            for plan in of_type(resources, "AWS::ApiGateway::UsagePlan").values()
            if any(
                ref_name(s.get("ApiId")) == api
                and (ref_name(s.get("Stage")) == name or s.get("Stage") == props(stage).get("StageName"))
                for s in props(plan).get("ApiStages") or []
            )
        ]
        if not any(
            (props(plan).get("Throttle") or {}).get("RateLimit") == THROTTLE_RATE
            and (props(plan).get("Throttle") or {}).get("BurstLimit") == THROTTLE_BURST
            for plan in plans
        ):
            found.append(f"{name}: no usage plan on the stage throttles with ApiThrottleRate and ApiThrottleBurst")
    return found


def access_log_problems(resources):
    found = []
    groups = of_type(resources, "AWS::Logs::LogGroup")
    for name, stage in of_type(resources, "AWS::ApiGateway::Stage").items():
        setting = props(stage).get("AccessLogSetting")
        if not setting:
            found.append(f"{name}: no access logging")
            continue
        group = ref_name(setting.get("DestinationArn"))
        if group not in groups:
            found.append(f"{name}: access logs go to {setting.get('DestinationArn')}, not a log group of the template")
        elif "RetentionInDays" not in props(groups[group]):
            found.append(f"{name}: access log group {group} keeps its logs forever (no RetentionInDays)")
        text = setting.get("Format")
        if not isinstance(text, str):
            found.append(f"{name}: the access log format is not a plain string")
            continue
        try:
            line = json.loads(text)
        except ValueError as error:
            found.append(f"{name}: the access log format is not a JSON object ({error})")
            line = None
        if line is not None and not (isinstance(line, dict) and all(isinstance(v, str) for v in line.values())):
            found.append(f"{name}: the access log format must be one JSON object of quoted values")
        used = set(VARIABLE.findall(text))
        for variable in sorted(used - ACCESS_LOG_VARIABLES):
            found.append(f"{name}: the access log must not log {variable} (only {', '.join(sorted(ACCESS_LOG_VARIABLES))})")
        for variable in sorted(ACCESS_LOG_REQUIRED - used):
            found.append(f"{name}: the access log lacks {variable}")
    return found


def gateway_response_problems(resources):
    found = []
    responses = gateway_responses(resources)
    for api in of_type(resources, "AWS::ApiGateway::RestApi"):
        for kind, status in JSON_RESPONSES.items():
            if (api, kind) not in responses:
                found.append(f"{api}: no {kind} gateway response")
                continue
            code, headers, templates = responses[(api, kind)]
            if status and str(code) != status:
                found.append(f"{api}: {kind} answers {code}, not {status}")
            if not renders_json(templates.get("application/json", "")):
                found.append(f"{api}: {kind} has no JSON body with error and message")
            if kind == "UNAUTHORIZED" and not str(headers.get("www-authenticate", "")).strip("'").startswith("Bearer"):
                found.append(f"{api}: UNAUTHORIZED (401) has no WWW-Authenticate: Bearer header")
    return found


def deployment_name_problems(source, translated):
    """Each deployment the template declares is named for its API's Body."""
    found = []
    declared = source.get("Resources") or {}
    apis = of_type(translated.get("Resources") or {}, "AWS::ApiGateway::RestApi")
    for name, deployment in of_type(translated.get("Resources") or {}, "AWS::ApiGateway::Deployment").items():
        api = ref_name(props(deployment).get("RestApiId"))
        body = props(apis.get(api, {})).get("Body")
        if name not in declared or not isinstance(body, dict):
            continue  # SAM names the deployments it makes for their definitions itself
        wanted = definition_hash(body)
        if not name.endswith(wanted):
            stem = re.sub(r"[0-9a-f]{8}$", "", name) if re.search(r"[0-9a-f]{8}$", name) else name
            found.append(
                f"{name} snapshots an older definition of {api}: rename it {stem}{wanted} (and its references), "
                "so that CloudFormation makes a new deployment and the change reaches the stage"
            )
    return found


def stage_deployment_problems(resources):
    """Each stage serves a deployment made with these parameters."""
    found = []
    deployments = of_type(resources, "AWS::ApiGateway::Deployment")
    for name, stage in of_type(resources, "AWS::ApiGateway::Stage").items():
        target = ref_name(props(stage).get("DeploymentId"))
        if target not in deployments:
            found.append(f"{name} serves {props(stage).get('DeploymentId')}, which is not a deployment made with these parameters")
    return found


def account_role_problems(resources):
    found = []
    accounts = set(of_type(resources, "AWS::ApiGateway::Account"))
    if not accounts:
        return found
    for name, stage in of_type(resources, "AWS::ApiGateway::Stage").items():
        if not props(stage).get("AccessLogSetting"):
            continue
        depends = stage.get("DependsOn") or []
        waits = set([depends] if isinstance(depends, str) else depends) | references(stage)
        if not accounts & waits:
            found.append(f"{name} logs access but does not wait for {', '.join(sorted(accounts))}, which lets API Gateway log")
    return found


def problems(template, overrides):
    """What breaks a rule with these parameters (the deployments' names, which do not depend on
    them, are checked by deployment_name_problems)."""
    _, resources = deployed(template, overrides)
    return (
        authorizer_problems(resources)
        + throttle_problems(resources)
        + access_log_problems(resources)
        + gateway_response_problems(resources)
        + stage_deployment_problems(resources)
        + account_role_problems(resources)
    )


def main():
    template = template_from_argv(__doc__)
    translated, _ = deployed(template, {})
    failed = report("[api]", deployment_name_problems(template, translated))
    for label, overrides in PARAMETER_SETS.items():
        found = problems(template, overrides)
        failed += report(f"[api] with {label}:", found)
        if not found:
            _, resources = deployed(template, overrides)
            if of_type(resources, "AWS::Cognito::UserPool"):
                auth = "a Cognito authorizer on each but GET /openapi.yaml"
            else:
                auth = "no gateway authorizer (the function checks every token)"
            print(
                f"[api] with {label}: {len(methods(resources))} methods, {auth}; every method throttled; "
                "access logged without tokens, headers or bodies; 401s say WWW-Authenticate: Bearer"
            )
    if failed:
        sys.exit(f"[api] {failed} problems")


if __name__ == "__main__":
    main()
