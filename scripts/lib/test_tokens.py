"""The order API's tokens (tokens.py, behind scripts/token.sh): run with the tools' Python, from
this folder:
    ../../.local/tools/bin/python -m unittest -q test_tokens

Local tokens are checked as a verifier checks them, with PyJWT against the issuer's jwks.json; the
AWS path's calls to CloudFormation and Cognito with botocore's Stubber (no network).
"""

import io
import json
import stat
import string
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import boto3
import jwt
from botocore.stub import ANY, Stubber

import tokens

ISSUER = "http://127.0.0.1:4566/eda-local-issuer"


def quietly(function, *args, **kwargs):
    with redirect_stderr(io.StringIO()):
        return function(*args, **kwargs)


class LocalIssuer(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp()) / "issuer"
        self.config = quietly(tokens.make_issuer, self.dir, ISSUER)
        self.jwks = json.loads((self.dir / "jwks.json").read_text())

    def tearDown(self):
        for path in sorted(self.dir.parent.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        self.dir.parent.rmdir()

    def mint(self, customer="alice", **options):
        config, key = tokens.read_issuer(self.dir)
        return tokens.local_token(config, key, customer, **options)

    def verify(self, token, audience="eda-local-client", issuer=ISSUER):
        """What the order function does: the key named by the header's kid, from the JWKS."""
        key = jwt.PyJWKSet.from_dict(self.jwks)[jwt.get_unverified_header(token)["kid"]].key
        return jwt.decode(
            token,
            key,
            algorithms=["ES256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )

    def test_the_issuer_files_are_a_private_key_its_public_jwks_and_the_issuer(self):
        key = self.dir / "signing-key.pem"
        self.assertEqual(stat.S_IMODE(key.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(self.dir.stat().st_mode), 0o700)
        self.assertIn(b"BEGIN PRIVATE KEY", key.read_bytes())  # PKCS#8
        [jwk] = self.jwks["keys"]
        self.assertEqual(
            {k: jwk[k] for k in ("kty", "crv", "alg", "use")},
            {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"},
        )
        self.assertNotIn("d", jwk)  # never the private part
        self.assertEqual(
            json.loads((self.dir / "issuer.json").read_text()),
            {"issuer": ISSUER, "audience": "eda-local-client", "kid": jwk["kid"]},
        )

    def test_the_jwks_holds_the_signing_keys_public_half(self):
        [jwk] = self.jwks["keys"]
        public = jwt.algorithms.ECAlgorithm.to_jwk(
            tokens.load_key(self.dir / "signing-key.pem").public_key(), as_dict=True
        )
        self.assertEqual((public["x"], public["y"]), (jwk["x"], jwk["y"]))

    def test_a_second_run_reuses_the_key_so_tokens_outlive_a_restart(self):
        before = (self.dir / "signing-key.pem").read_bytes()
        token = self.mint()
        again = quietly(tokens.make_issuer, self.dir, ISSUER)
        self.assertEqual((self.dir / "signing-key.pem").read_bytes(), before)
        self.assertEqual(again, self.config)
        self.assertEqual(self.verify(token)["sub"], "alice")

    def test_a_key_made_readable_by_others_is_made_private_again(self):
        (self.dir / "signing-key.pem").chmod(0o644)
        quietly(tokens.make_issuer, self.dir, ISSUER)
        self.assertEqual(stat.S_IMODE((self.dir / "signing-key.pem").stat().st_mode), 0o600)

    def test_a_customer_token_verifies_against_the_jwks_with_cognitos_claims(self):
        token = self.mint("alice")
        header = jwt.get_unverified_header(token)
        self.assertEqual(header, {"alg": "ES256", "kid": self.config["kid"], "typ": "JWT"})
        claims = self.verify(token)
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(claims["aud"], "eda-local-client")
        self.assertEqual(claims["sub"], "alice")
        self.assertEqual(claims["cognito:username"], "alice")
        self.assertEqual(claims["token_use"], "id")
        self.assertNotIn("cognito:groups", claims)
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        self.assertLessEqual(claims["auth_time"], claims["iat"])

    def test_an_operator_token_is_in_the_operators_group(self):
        claims = self.verify(self.mint("olga", operator=True))
        self.assertEqual((claims["sub"], claims["cognito:groups"]), ("olga", ["operators"]))

    def test_a_negative_lifetime_makes_an_expired_token(self):
        token = self.mint(lifetime=-600)
        with self.assertRaises(jwt.ExpiredSignatureError):
            self.verify(token)
        claims = jwt.decode(token, options={"verify_signature": False})
        self.assertLess(claims["iat"], claims["exp"])  # an ordinary token, expired 600 s ago

    def test_another_audience_is_refused_where_the_local_one_is_expected(self):
        token = self.mint(audience="someone-else")
        with self.assertRaises(jwt.InvalidAudienceError):
            self.verify(token)
        self.assertEqual(self.verify(token, audience="someone-else")["aud"], "someone-else")

    def test_another_issuer_is_refused(self):
        with self.assertRaises(jwt.InvalidIssuerError):
            self.verify(self.mint(issuer="https://evil.example.com"))

    def test_not_before_makes_a_token_not_yet_valid(self):
        with self.assertRaises(jwt.ImmatureSignatureError):
            self.verify(self.mint(not_before=600))
        self.assertEqual(self.verify(self.mint(not_before=-5))["sub"], "alice")

    def test_a_token_of_another_issuers_key_does_not_verify(self):
        other = Path(tempfile.mkdtemp()) / "issuer"
        try:
            config = quietly(tokens.make_issuer, other, ISSUER)
            forged = tokens.local_token(
                dict(config, kid=self.config["kid"]), (other / "signing-key.pem").read_bytes(), "alice"
            )
            with self.assertRaises(jwt.InvalidSignatureError):
                self.verify(forged)
        finally:
            for path in other.iterdir():
                path.unlink()
            other.rmdir()
            other.parent.rmdir()

    def test_no_issuer_yet_says_to_run_local_up(self):
        with self.assertRaisesRegex(tokens.Failure, "local-up.sh"):
            tokens.read_issuer(self.dir.parent / "nowhere")

    def test_the_command_prints_the_token_alone_on_stdout(self):
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            code = tokens.main(["local", "bob", "--dir", str(self.dir), "--operator"])
        self.assertEqual(code, 0)
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertEqual(self.verify(lines[0])["cognito:groups"], ["operators"])

    def test_the_command_fails_without_an_issuer(self):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = tokens.main(["local", "bob", "--dir", str(self.dir.parent / "nowhere")])
        self.assertEqual((code, out.getvalue()), (1, ""))
        self.assertIn("ERROR", err.getvalue())


def client(service):
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


class PublishingTheJwks(unittest.TestCase):
    def test_a_missing_bucket_is_created_readable_under_well_known_and_the_jwks_put(self):
        s3 = client("s3")
        with Stubber(s3) as stub:
            stub.add_client_error(
                "head_bucket", "404", http_status_code=404, expected_params={"Bucket": "eda-local-issuer"}
            )
            stub.add_response("create_bucket", {}, {"Bucket": "eda-local-issuer"})
            stub.add_response("put_bucket_policy", {}, {"Bucket": "eda-local-issuer", "Policy": ANY})
            stub.add_response(
                "put_object",
                {},
                {
                    "Bucket": "eda-local-issuer",
                    "Key": ".well-known/jwks.json",
                    "Body": b'{"keys": []}',
                    "ContentType": "application/json",
                    "CacheControl": ANY,
                },
            )
            quietly(tokens.publish_jwks, s3, b'{"keys": []}')
            stub.assert_no_pending_responses()

    def test_an_existing_bucket_is_reused(self):
        s3 = client("s3")
        with Stubber(s3) as stub:
            stub.add_response("head_bucket", {}, {"Bucket": "eda-local-issuer"})
            stub.add_response("put_bucket_policy", {}, {"Bucket": "eda-local-issuer", "Policy": ANY})
            stub.add_response("put_object", {}, None)
            quietly(tokens.publish_jwks, s3, b"{}")
            stub.assert_no_pending_responses()

    def test_the_policy_lets_anyone_read_the_keys_and_nothing_else(self):
        s3 = mock.Mock()
        quietly(tokens.publish_jwks, s3, b"{}")
        policy = json.loads(s3.put_bucket_policy.call_args.kwargs["Policy"])
        [statement] = policy["Statement"]
        self.assertEqual(
            (statement["Effect"], statement["Principal"], statement["Action"], statement["Resource"]),
            ("Allow", "*", "s3:GetObject", "arn:aws:s3:::eda-local-issuer/.well-known/*"),
        )

    def test_the_served_jwks_must_be_the_issuers(self):
        served = mock.MagicMock()
        served.__enter__.return_value.read.return_value = b'{"keys": [{"kid": "old"}]}'
        with mock.patch("urllib.request.urlopen", return_value=served):
            with self.assertRaisesRegex(tokens.Failure, "another JWKS"):
                quietly(tokens.check_served, "http://x/.well-known/jwks.json", b'{"keys": [{"kid": "new"}]}')
            quietly(tokens.check_served, "http://x/.well-known/jwks.json", b'{"keys":[{"kid":"old"}]}')


POOL, CLIENT, STACK = "eu-west-1_AbCdEf123", "1example23456789", "eda-demo"
OUTPUTS = {
    "Stacks": [
        {
            "StackName": STACK,
            "CreationTime": "2026-12-01T00:00:00Z",
            "StackStatus": "CREATE_COMPLETE",
            "Outputs": [
                {"OutputKey": "OidcIssuer", "OutputValue": f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"},
                {"OutputKey": "UserPoolId", "OutputValue": POOL},
                {"OutputKey": "UserPoolClientId", "OutputValue": CLIENT},
            ],
        }
    ]
}
SIGNED_IN = {"AuthenticationResult": {"IdToken": "id.token.here", "AccessToken": "a", "RefreshToken": "r"}}
PASSWORD = "Aa1!" + "x" * 36


class CognitoSignIn(unittest.TestCase):
    def setUp(self):
        self.cfn, self.idp = client("cloudformation"), client("cognito-idp")
        self.cfn_stub, self.idp_stub = Stubber(self.cfn), Stubber(self.idp)
        self.cfn_stub.add_response("describe_stacks", OUTPUTS, {"StackName": STACK})
        self.cfn_stub.activate()
        self.idp_stub.activate()

    def tearDown(self):
        self.cfn_stub.deactivate()
        self.idp_stub.deactivate()

    def expect_sign_in(self, user):
        self.idp_stub.add_response(
            "admin_set_user_password",
            {},
            {"UserPoolId": POOL, "Username": user, "Password": PASSWORD, "Permanent": True},
        )
        self.idp_stub.add_response(
            "admin_initiate_auth",
            SIGNED_IN,
            {
                "UserPoolId": POOL,
                "ClientId": CLIENT,
                "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD},
            },
        )

    def sign_in(self, user, operator=False):
        token = quietly(tokens.cognito_token, self.cfn, self.idp, STACK, user, operator=operator, password=PASSWORD)
        self.cfn_stub.assert_no_pending_responses()
        self.idp_stub.assert_no_pending_responses()
        return token

    def test_a_missing_user_is_created_without_an_invitation_then_signed_in(self):
        self.idp_stub.add_client_error(
            "admin_get_user", "UserNotFoundException", expected_params={"UserPoolId": POOL, "Username": "alice"}
        )
        self.idp_stub.add_response(
            "admin_create_user", {}, {"UserPoolId": POOL, "Username": "alice", "MessageAction": "SUPPRESS"}
        )
        self.expect_sign_in("alice")
        self.assertEqual(self.sign_in("alice"), "id.token.here")

    def test_an_existing_user_is_only_given_a_new_password_and_signed_in(self):
        self.idp_stub.add_response(
            "admin_get_user", {"Username": "alice"}, {"UserPoolId": POOL, "Username": "alice"}
        )
        self.expect_sign_in("alice")
        self.assertEqual(self.sign_in("alice"), "id.token.here")

    def test_an_operator_is_added_to_the_operators_group_before_signing_in(self):
        self.idp_stub.add_client_error("admin_get_user", "UserNotFoundException")
        self.idp_stub.add_response("admin_create_user", {}, None)
        self.idp_stub.add_response(
            "admin_add_user_to_group", {}, {"UserPoolId": POOL, "Username": "olga", "GroupName": "operators"}
        )
        self.expect_sign_in("olga")
        self.assertEqual(self.sign_in("olga", operator=True), "id.token.here")

    def test_the_operators_group_is_the_one_the_stack_names(self):
        cfn = client("cloudformation")
        stack = dict(OUTPUTS["Stacks"][0])
        stack["Outputs"] = stack["Outputs"] + [{"OutputKey": "OperatorGroup", "OutputValue": "admins"}]
        with Stubber(cfn) as stub:
            stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK})
            self.idp_stub.add_response("admin_get_user", {"Username": "olga"}, None)
            self.idp_stub.add_response(
                "admin_add_user_to_group", {}, {"UserPoolId": POOL, "Username": "olga", "GroupName": "admins"}
            )
            self.expect_sign_in("olga")
            quietly(tokens.cognito_token, cfn, self.idp, STACK, "olga", operator=True, password=PASSWORD)
            self.idp_stub.assert_no_pending_responses()

    def test_the_command_prints_the_id_token_alone(self):
        self.idp_stub.add_response("admin_get_user", {"Username": "alice"}, None)
        self.idp_stub.add_response("admin_set_user_password", {}, None)
        self.idp_stub.add_response("admin_initiate_auth", SIGNED_IN, None)
        session = mock.Mock()
        session.client.side_effect = lambda service, **_: {"cloudformation": self.cfn, "cognito-idp": self.idp}[service]
        out = io.StringIO()
        with mock.patch("boto3.session.Session", return_value=session), redirect_stdout(out):
            code = quietly(tokens.main, ["aws", "alice", "--stack-name", STACK, "--region", "eu-west-1"])
        self.assertEqual((code, out.getvalue()), (0, "id.token.here\n"))

    def test_a_challenge_instead_of_tokens_fails_with_its_name(self):
        self.idp_stub.add_response("admin_get_user", {"Username": "alice"}, None)
        self.idp_stub.add_response("admin_set_user_password", {}, None)
        self.idp_stub.add_response("admin_initiate_auth", {"ChallengeName": "SMS_MFA", "Session": "s" * 20}, None)
        with self.assertRaisesRegex(tokens.Failure, "SMS_MFA"):
            self.sign_in("alice")

    def test_a_refused_call_fails_naming_the_step(self):
        self.idp_stub.add_client_error("admin_get_user", "AccessDeniedException", "not allowed")
        with self.assertRaisesRegex(tokens.Failure, "reading the user failed .*not allowed"):
            self.sign_in("alice")

    def test_a_stack_without_a_user_pool_says_so(self):
        cfn = client("cloudformation")
        issuer_only = [{"OutputKey": "OidcIssuer", "OutputValue": "https://login.example.com"}]
        stack = dict(OUTPUTS["Stacks"][0], Outputs=issuer_only)
        with Stubber(cfn) as stub:
            stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK})
            with self.assertRaisesRegex(tokens.Failure, "no UserPoolId .*https://login.example.com"):
                tokens.cognito_token(cfn, self.idp, STACK, "alice")

    def test_a_random_password_meets_cognitos_strictest_policy_and_differs_each_time(self):
        passwords = {tokens.random_password() for _ in range(20)}
        self.assertEqual(len(passwords), 20)
        for password in passwords:
            self.assertEqual(len(password), 40)
            self.assertTrue(any(c.isupper() for c in password), password)
            self.assertTrue(any(c.islower() for c in password), password)
            self.assertTrue(any(c.isdigit() for c in password), password)
            self.assertTrue(any(c in tokens.PASSWORD_SYMBOLS for c in password), password)
        # Every class, even in the shortest password: not left to chance.
        for _ in range(50):
            short = tokens.random_password(4)
            classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, tokens.PASSWORD_SYMBOLS)
            self.assertEqual([any(c in chars for c in short) for chars in classes], [True] * 4, short)


if __name__ == "__main__":
    unittest.main()
