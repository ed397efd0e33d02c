#!/usr/bin/env python3
"""Tokens for the order API: OIDC ID tokens (JWTs) shaped as Cognito's are. Run by scripts/token.sh
(which prints its usage) and scripts/local-up.sh, with the tools' Python (scripts/lib/common.sh).
Named tokens.py, not token.py: that would hide the standard library's `token` module.

  tokens.py issuer --dir DIR --endpoint-url URL
      the local stack's issuer: makes DIR (.local/issuer) if it is not there, with signing-key.pem
      (EC P-256, PKCS#8, mode 600), jwks.json (its public key) and issuer.json (issuer, audience,
      kid); later runs reuse the key. Then publishes jwks.json on the local stack's S3, bucket
      eda-local-issuer, key .well-known/jwks.json (created if missing, readable by anyone), and
      checks that an anonymous GET of ISSUER/.well-known/jwks.json answers it
  tokens.py local CUSTOMER --dir DIR [--operator] [--audience AUD] [--issuer ISS]
                  [--lifetime SECONDS] [--not-before SECONDS]
      prints a token for CUSTOMER (its sub) signed by the local issuer in DIR (ES256)
  tokens.py aws CUSTOMER --stack-name NAME --region REGION [--operator]
      signs the Cognito user CUSTOMER in to the stack's user pool (outputs UserPoolId and
      UserPoolClientId), creating the user if missing and setting a fresh random password (never
      shown), and prints its ID token; --operator adds the user to the operators group first (the
      group the stack's OperatorGroup output names, else operators)

Only the token goes to stdout; what it does goes to stderr.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import string
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ISSUER_BUCKET = "eda-local-issuer"
JWKS_KEY = ".well-known/jwks.json"
LOCAL_AUDIENCE = "eda-local-client"
OPERATOR_GROUP = "operators"
DEFAULT_LIFETIME = 3600
TAG = "token"


def log(message):
    print(f"[{TAG}] {message}", file=sys.stderr, flush=True)


class Failure(Exception):
    """Ends the command with an error message (main prints it and exits 1)."""


def local_issuer_url(endpoint_url):
    """The issuer of the local stack: its S3 bucket, path style, as the function fetches it."""
    return f"{endpoint_url.rstrip('/')}/{ISSUER_BUCKET}"


# --- The local issuer's keys -------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(private_key):
    """The public half of an EC P-256 key as a JWK, its kid the RFC 7638 thumbprint."""
    numbers = private_key.public_key().public_numbers()
    x, y = b64url(numbers.x.to_bytes(32, "big")), b64url(numbers.y.to_bytes(32, "big"))
    # RFC 7638: the required members only, in lexicographic order, no whitespace.
    thumbprint = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"), sort_keys=True)
    kid = b64url(hashlib.sha256(thumbprint.encode()).digest())
    return {"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"}


def load_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise Failure(f"{path} is not an EC P-256 private key: move it away and run scripts/local-up.sh again")
    return key


def write_if_changed(path: Path, text: str):
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def make_issuer(directory: Path, issuer: str, audience: str = LOCAL_AUDIENCE):
    """Makes the issuer's files in `directory` (the key only if absent) and returns issuer.json's
    contents. jwks.json and issuer.json follow from the key, so they are written again when they
    differ (a key made on another run keeps its kid)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = directory / "signing-key.pem"
    if key_path.exists():
        mode = key_path.stat().st_mode & 0o777
        if mode != 0o600:
            log(f"{key_path} was mode {mode:o}: making it 600 (only you may read a signing key)")
            key_path.chmod(0o600)
        key = load_key(key_path)
        log(f"reusing the signing key {key_path}")
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Created with mode 600 from the start, and never over an existing file.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        log(f"made a new signing key (EC P-256) in {key_path}, mode 600")
    jwk = public_jwk(key)
    config = {"issuer": issuer, "audience": audience, "kid": jwk["kid"]}
    for name, document in (("jwks.json", {"keys": [jwk]}), ("issuer.json", config)):
        if write_if_changed(directory / name, json.dumps(document, indent=2) + "\n"):
            log(f"wrote {directory / name}")
    log(f"issuer {issuer}, audience {audience}, kid {jwk['kid']}")
    return config


def read_issuer(directory: Path):
    """issuer.json's contents and the signing key's PEM, or a Failure saying how to make them."""
    config_path, key_path = directory / "issuer.json", directory / "signing-key.pem"
    if not config_path.is_file() or not key_path.is_file():
        raise Failure(
            f"no local issuer in {directory} (issuer.json and signing-key.pem): scripts/local-up.sh makes it"
        )
    config = json.loads(config_path.read_text())
    missing = {"issuer", "audience", "kid"} - set(config)
    if missing:
        raise Failure(f"{config_path} lacks {', '.join(sorted(missing))}: run scripts/local-up.sh again")
    return config, key_path.read_bytes()


# --- Publishing the JWKS on the local stack ----------------------------------------------------


def publish_jwks(s3, jwks: bytes):
    """Puts jwks.json at s3://eda-local-issuer/.well-known/jwks.json, making the bucket (readable
    by anyone under .well-known/, as an issuer's keys are) if missing."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=ISSUER_BUCKET)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
        log(f"creating the bucket {ISSUER_BUCKET}")
        s3.create_bucket(Bucket=ISSUER_BUCKET)
    # A policy, as AWS would need it; LocalStack serves anonymous GETs without it too.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicIssuerKeys",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{ISSUER_BUCKET}/.well-known/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=ISSUER_BUCKET, Policy=json.dumps(policy))
    s3.put_object(
        Bucket=ISSUER_BUCKET, Key=JWKS_KEY, Body=jwks, ContentType="application/json", CacheControl="max-age=60"
    )
    log(f"uploaded s3://{ISSUER_BUCKET}/{JWKS_KEY}")


def check_served(url, expected: bytes):
    """An anonymous GET of `url` must answer `expected`, as the function will fetch it."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            served = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise Failure(f"an anonymous GET {url} failed: {error}") from error
    if json.loads(served) != json.loads(expected):
        raise Failure(f"GET {url} answers another JWKS than the issuer's jwks.json")
    log(f"GET {url} (anonymous) answers the issuer's jwks.json")


def issuer_command(args):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    directory = Path(args.dir)
    config = make_issuer(directory, local_issuer_url(args.endpoint_url))
    # LocalStack accepts any credentials; never send the developer's real ones to it.
    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
    )
    jwks = (directory / "jwks.json").read_bytes()
    try:
        publish_jwks(s3, jwks)
    except (ClientError, BotoCoreError) as error:
        raise Failure(f"cannot publish the issuer's keys on the local stack at {args.endpoint_url}: {error}") from error
    check_served(f"{config['issuer']}/{JWKS_KEY}", jwks)


# --- Local tokens ------------------------------------------------------------------------------


def local_token(
    config,
    key_pem: bytes,
    customer,
    operator=False,
    audience=None,
    issuer=None,
    lifetime=DEFAULT_LIFETIME,
    not_before=None,
    now=None,
):
    """An ID token as Cognito issues them, signed with the local issuer's key (ES256). A negative
    lifetime gives a token that expired that long ago (issued an hour before it expired)."""
    import jwt

    now = int(time.time()) if now is None else now
    expires = now + lifetime
    issued = now if lifetime > 0 else expires - 3600
    claims = {
        "sub": customer,
        "iss": issuer if issuer is not None else config["issuer"],
        "aud": audience if audience is not None else config["audience"],
        "token_use": "id",
        "auth_time": issued,
        "iat": issued,
        "exp": expires,
        "jti": str(uuid.uuid4()),
        "cognito:username": customer,
    }
    if not_before is not None:
        claims["nbf"] = now + not_before
    if operator:
        claims["cognito:groups"] = [OPERATOR_GROUP]
    return jwt.encode(claims, key_pem, algorithm="ES256", headers={"kid": config["kid"], "typ": "JWT"})


def local_command(args):
    config, key_pem = read_issuer(Path(args.dir))
    token = local_token(
        config,
        key_pem,
        args.customer,
        operator=args.operator,
        audience=args.audience,
        issuer=args.issuer,
        lifetime=args.lifetime,
        not_before=args.not_before,
    )
    log(
        f"a token for {args.customer}{' (operator)' if args.operator else ''} from {args.issuer or config['issuer']}, "
        f"{'expired' if args.lifetime <= 0 else 'valid'} {abs(args.lifetime)} s"
    )
    print(token)


# --- Cognito (AWS) -----------------------------------------------------------------------------

PASSWORD_SYMBOLS = "!#%*+-=?@^_~"


def random_password(length=40):
    """A password meeting any Cognito policy (upper, lower, digit, symbol; Cognito allows up to
    256 characters), from the system's random source; used once and forgotten."""
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, PASSWORD_SYMBOLS]
    chars = [secrets.choice(c) for c in classes]
    everything = "".join(classes)
    chars += [secrets.choice(everything) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def stack_outputs(cfn, stack_name):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except (ClientError, BotoCoreError) as error:
        raise Failure(f"cannot read the stack {stack_name}: {error}") from error
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def cognito_token(cfn, idp, stack_name, username, operator=False, password=None):
    """Signs `username` in to the stack's Cognito user pool and returns its ID token."""
    from botocore.exceptions import BotoCoreError, ClientError

    outputs = stack_outputs(cfn, stack_name)
    pool, client = outputs.get("UserPoolId"), outputs.get("UserPoolClientId")
    if not pool or not client:
        raise Failure(
            f"the stack {stack_name} has no UserPoolId and UserPoolClientId outputs: it trusts another OIDC "
            f"issuer ({outputs.get('OidcIssuer', 'unknown')}); get a token from that issuer instead"
        )
    password = password or random_password()
    step = "reading the user"
    try:
        try:
            idp.admin_get_user(UserPoolId=pool, Username=username)
            log(f"user {username} exists in the user pool {pool}")
        except ClientError as error:
            if error.response["Error"]["Code"] != "UserNotFoundException":
                raise
            step = "creating the user"
            idp.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
            log(f"created the user {username} in the user pool {pool} (no invitation sent)")
        if operator:
            # The stack's OperatorGroup output names the group its template parameter chose.
            group = outputs.get("OperatorGroup") or OPERATOR_GROUP
            step = f"adding the user to the group {group}"
            idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
            log(f"{username} is in the group {group}")
        step = "setting a new password"
        idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=password, Permanent=True)
        step = "signing in (ADMIN_USER_PASSWORD_AUTH)"
        answer = idp.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except (ClientError, BotoCoreError) as error:
        raise Failure(f"{step} failed for {username} in the user pool {pool}: {error}") from error
    if "ChallengeName" in answer:
        raise Failure(
            f"Cognito asks {username} for {answer['ChallengeName']} instead of signing it in: "
            "the user pool must not require MFA or other challenges for this command"
        )
    log(f"signed {username} in to the user pool {pool} (app client {client})")
    return answer["AuthenticationResult"]["IdToken"]


def aws_command(args):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=args.region)
    if session.get_credentials() is None:
        raise Failure(
            "no AWS credentials found. Configure them first: `aws configure` (or AWS_PROFILE for a named "
            "profile), `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        )
    config = Config(retries={"max_attempts": 10, "mode": "standard"})
    token = cognito_token(
        session.client("cloudformation", config=config),
        session.client("cognito-idp", config=config),
        args.stack_name,
        args.customer,
        operator=args.operator,
    )
    print(token)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    issuer = commands.add_parser("issuer", help="make the local issuer and publish its keys")
    issuer.add_argument("--dir", required=True, help="where the issuer's files are (.local/issuer)")
    issuer.add_argument("--endpoint-url", required=True, help="the local stack (http://127.0.0.1:4566)")
    local = commands.add_parser("local", help="a token from the local issuer")
    local.add_argument("customer")
    local.add_argument("--dir", required=True, help="where the issuer's files are (.local/issuer)")
    local.add_argument("--operator", action="store_true")
    local.add_argument("--audience")
    local.add_argument("--issuer")
    local.add_argument("--lifetime", type=int, default=DEFAULT_LIFETIME)
    local.add_argument("--not-before", type=int)
    aws = commands.add_parser("aws", help="a token from the stack's Cognito user pool")
    aws.add_argument("customer")
    aws.add_argument("--stack-name", required=True)
    aws.add_argument("--region", required=True)
    aws.add_argument("--operator", action="store_true")
    args = parser.parse_args(argv)
    if args.command != "issuer" and not args.customer:
        parser.error("CUSTOMER must not be empty")
    try:
        {"issuer": issuer_command, "local": local_command, "aws": aws_command}[args.command](args)
    except Failure as failure:
        print(f"[{TAG}] ERROR: {failure}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
