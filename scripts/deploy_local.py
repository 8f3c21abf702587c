"""`make deploy-local`'s deploy step: template.yaml, as it is, into the emulator's
CloudFormation (ministack), with the functions' code from `make package`'s zips.

What it adds around CloudFormation is what `sam deploy` or the account would do, and one
gap of the emulator:
- the token keys' secrets, which the template names but an operator creates;
- the zips, uploaded to an artifacts bucket, and each function's CodeUri pointed at its zip
  (what `sam package` does to a built template);
- the HTTP API's routes: the emulator imports an OpenAPI body only for REST APIs, so the
  routes and integrations SAM generated are read from the stack's processed template and
  created with the emulator's own API Gateway v2 calls, one per route, as AWS would have.

Writes what the smoke suite needs (the API URL, the keys) as JSON to the path given.
"""

import json
import os
import pathlib
import re
import secrets
import sys
import time

import boto3
from samcli.yamlhelper import yaml_parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARTIFACTS = "livechat-deploy-artifacts"
SECRETS = {
    "AgentTokenSecretName": "livechat/agent-token-secret",
    "ChatTokenSecretName": "livechat/chat-token-secret",
    "CustomerIdentitySecretName": "livechat/customer-identity-secret",
}


def clients(endpoint):
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    return lambda name: session.client(name, endpoint_url=endpoint)


def create_secrets(client):
    """One fresh key per secret; the smoke suite signs with the agent and identity keys."""
    keys = {}
    sm = client("secretsmanager")
    for param, name in SECRETS.items():
        value = secrets.token_hex(32)
        sm.create_secret(Name=name, SecretString=value)
        keys[param] = value
    return keys


def upload_code(client, template, target):
    """Each function's zip to the artifacts bucket; its CodeUri points there."""
    s3 = client("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        zip_path = target / "lambda" / binary / "bootstrap.zip"
        if not zip_path.exists():
            sys.exit(f"{zip_path} is missing: run make package first")
        s3.upload_file(str(zip_path), ARTIFACTS, f"{binary}.zip")
        resource["Properties"]["CodeUri"] = {"Bucket": ARTIFACTS, "Key": f"{binary}.zip"}
        del resource["Metadata"]


def deploy(client, endpoint, stack, template, parameters):
    # Past 51,200 bytes a template goes by S3, as `sam deploy` sends it.
    client("s3").put_object(Bucket=ARTIFACTS, Key="template.json", Body=json.dumps(template).encode())
    cf = client("cloudformation")
    cf.create_stack(
        StackName=stack,
        TemplateURL=f"{endpoint}/{ARTIFACTS}/template.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            break
        time.sleep(1)
    if status != "CREATE_COMPLETE":
        for event in cf.describe_stack_events(StackName=stack)["StackEvents"]:
            if event.get("ResourceStatus", "").endswith("FAILED"):
                print(event["LogicalResourceId"], event.get("ResourceStatusReason"), file=sys.stderr)
        sys.exit(f"stack {stack}: {status}")
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in cf.describe_stack_resources(StackName=stack)["StackResources"]}


# Resource types the emulator's CloudFormation does not know (checked with ministack 1.5.33),
# taken out of the template and created after the stack with the emulator's own API.
DEFERRED = {"AWS::ApiGatewayV2::RouteResponse"}


def defer_unknown(template):
    deferred = {k: v for k, v in template["Resources"].items() if v["Type"] in DEFERRED}
    for name in deferred:
        del template["Resources"][name]
    return deferred


def create_deferred(client, deferred, physical):
    gw = client("apigatewayv2")
    ref = lambda v: physical[v["Ref"]]
    for resource in deferred.values():
        props = resource["Properties"]
        # The emulator's physical id of a route is `<apiId>/<routeId>`; AWS's is the route id.
        gw.create_route_response(ApiId=ref(props["ApiId"]), RouteId=ref(props["RouteId"]).split("/")[-1],
                                 RouteResponseKey=props["RouteResponseKey"])


def create_routes(client, stack, physical):
    """The HTTP API's routes from the OpenAPI body the SAM transform generated."""
    cf = client("cloudformation")
    processed = cf.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    if isinstance(processed, str):
        processed = json.loads(processed)
    api = processed["Resources"]["HttpApi"]
    api_id = physical["HttpApi"]
    gw = client("apigatewayv2")
    lam = client("lambda")
    arns = {}
    created = set()
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, op in methods.items():
            integration = op.get("x-amazon-apigateway-integration")
            if not integration:
                continue
            uri = json.dumps(integration["uri"])
            logical = re.search(r"\$\{(\w+)\.Arn\}", uri).group(1)
            if logical not in arns:
                arns[logical] = lam.get_function(FunctionName=physical[logical])["Configuration"]["FunctionArn"]
            made = gw.create_integration(
                ApiId=api_id,
                IntegrationType="AWS_PROXY",
                IntegrationUri=arns[logical],
                PayloadFormatVersion=integration.get("payloadFormatVersion", "2.0"),
            )
            gw.create_route(ApiId=api_id, RouteKey=f"{method.upper()} {path}", Target=f"integrations/{made['IntegrationId']}")
            created.add(f"{method.upper()} {path}")
    return api_id, created


def check_mappings(client, template, physical):
    """Each event source the template declares is mapped, with its filter and per-record
    failure reporting (the emulator applies both to what it delivers)."""
    lam = client("lambda")
    declared = 0
    for name, resource in template["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] not in ("DynamoDB", "SQS"):
                continue
            declared += 1
            props = event["Properties"]
            mappings = lam.list_event_source_mappings(FunctionName=physical[name])["EventSourceMappings"]
            if len(mappings) != 1:
                sys.exit(f"{name}: {len(mappings)} event source mappings, expected 1")
            mapping = mappings[0]
            for key in ("FilterCriteria", "FunctionResponseTypes"):
                if props.get(key) and mapping.get(key) != props[key]:
                    sys.exit(f"{name}: {key} is {mapping.get(key)}, the template says {props[key]}")
    return declared


REFUSED = re.compile(r"is not authorized to perform: ([\w:-]+) on resource: [\\\"]*([^\\\" ]+)[\\\"]* (with an explicit deny in a resource-based policy|because [^\\\"\n]*)")


def refusals(log):
    """Calls the functions' roles were refused, from the emulator's log. One is the
    emulator's, not the template's: the files bucket's policy denies requests without TLS,
    and the emulator's endpoint is plain HTTP (README)."""
    found = {m.groups() for m in REFUSED.finditer(pathlib.Path(log).read_text(errors="replace"))}
    real = sorted(f for f in found if not (":::livechat-filesbucket-" in f[1] and f[2].startswith("with an explicit deny")))
    for action, resource, why in real:
        print(f"refused: {action} on {resource} ({why})")
    if real:
        sys.exit("deploy-local: a function was refused a call (above); its role in template.yaml lacks it")
    print(f"deploy-local: no call refused by the functions' roles (IAM enforced; {len(found)} refusal(s) by the files bucket's TLS-only policy)")


def architecture(target):
    """What make package built (arm64 where the Rust target is installed), from a
    bootstrap's ELF header (e_machine)."""
    import zipfile
    with zipfile.ZipFile(target / "lambda" / "chat-add" / "bootstrap.zip") as z:
        header = z.open("bootstrap").read(20)
    return {0x3E: "x86_64", 0xB7: "arm64"}[int.from_bytes(header[18:20], "little")]


def main():
    if sys.argv[1] == "--refusals":
        return refusals(sys.argv[2])
    endpoint, out = sys.argv[1], sys.argv[2]
    stack = os.environ.get("STACK_NAME", "livechat")
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    client = clients(endpoint)
    started = time.monotonic()
    template = yaml_parse((ROOT / "template.yaml").read_text())
    keys = create_secrets(client)
    upload_code(client, template, target)
    # The one change to the template: the smoke suite's webhook receiver listens on this
    # machine, which the deployed functions refuse to call in AWS (docs/security.md, M5).
    # No parameter of the production template allows it; the emulator's copy does.
    template["Globals"]["Function"]["Environment"]["Variables"]["WEBHOOK_ALLOW_LOOPBACK"] = "true"
    # The functions post to sockets at the emulator's own address for the WebSocket API's
    # @connections (the template names AWS's execute-api host, which is not this machine).
    for resource in template["Resources"].values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        if "SOCKET_ENDPOINT" in variables:
            variables["SOCKET_ENDPOINT"] = {"Fn::Sub": endpoint + "/_aws/execute-api/${SocketApi}/live"}
    parameters = {
        "Architecture": architecture(target),
        "CleanupSchedule": os.environ.get("CLEANUP_SCHEDULE", "rate(1 minute)"),
        "ClosedRetentionSeconds": "0",
        # A conformance run starts all its chats from this machine.
        "ChatsPerMinutePerAddress": os.environ.get("CHATS_PER_MINUTE_PER_ADDRESS", "10"),
    }
    deferred = defer_unknown(template)
    physical = deploy(client, endpoint, stack, template, parameters)
    create_deferred(client, deferred, physical)
    api_id, routes = create_routes(client, stack, physical)
    mappings = check_mappings(client, template, physical)
    openapi = json.loads((ROOT / "docs/openapi.json").read_text())
    operations = {f"{m.upper()} {path}" for path, ops in openapi["paths"].items() for m in ops
                  if m in ("get", "post", "put", "patch", "delete")}
    if routes != operations:
        sys.exit(f"routes and docs/openapi.json differ: {sorted(routes ^ operations)}")
    api = f"{endpoint}/_aws/execute-api/{api_id}/$default"
    socket = f"{endpoint.replace('http', 'ws', 1)}/_aws/execute-api/{physical['SocketApi']}/live"
    print(f"deployed {stack}: {len(template['Resources'])} resources, {len(routes)} routes, {mappings} event source mappings as declared, "
          f"{time.monotonic() - started:.0f} s; API {api}, sockets {socket}")
    pathlib.Path(out).write_text(json.dumps({"api": api, "socket": socket, "stack": stack, "keys": keys, "resources": physical}))


if __name__ == "__main__":
    main()
