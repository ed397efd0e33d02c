"""The API Gateway body patch: a request body reaches the Lambda proxy integration exactly as the
client sent it, as on AWS, even when it is declared a form (curl -d sends JSON as
application/x-www-form-urlencoded), while LocalStack's services that really take forms (the query
APIs, such as SQS's) still read their fields. Run with LocalStack's Python, against the installed
plugin, from the repository's root:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests
or this file alone:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests -p test_apigateway_body.py
(scripts/localstack/install.sh installs the plugin; to test its source as it is, prefix
`PYTHONPATH=infra/localstack/host-lambda`.)
(Importing LocalStack's API Gateway takes a few seconds: it loads every AWS service's spec.)
"""

import io
import unittest

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from localstack.aws.protocol.parser import create_parser
from localstack.aws.spec import load_service
from localstack.services.apigateway.next_gen.execute_api.context import RestApiInvocationContext
from localstack.services.apigateway.next_gen.execute_api.handlers.parse import InvocationRequestParser
from localstack_host_lambda import apigateway_body

FORM = "application/x-www-form-urlencoded"
API_ID = "a1b2c3d4e5"


def incoming(body, content_type: str | None, method="POST", path=f"/_aws/execute-api/{API_ID}/local/orders"):
    """A request as LocalStack's gateway builds it from the socket (rolo's WSGI gateway makes a
    werkzeug Request from the WSGI environment). `body`: bytes, or a stream standing for the socket."""
    if isinstance(body, bytes):
        builder = EnvironBuilder(method=method, path=path, data=body, content_type=content_type)
    else:
        builder = EnvironBuilder(method=method, path=path, input_stream=body, content_type=content_type,
                                 content_length=len(body.getvalue()))
    return Request(builder.get_environ())


class ReadCounting(io.BytesIO):
    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.bytes_read += n
        return n


def service_router_looks_at(request):
    # Before any route runs, LocalStack's service router looks for a query API `Action` in
    # request.values (localstack.aws.protocol.service_router, step 5), which parses a form body.
    return "Action" in request.values


def body_given_to_the_integration(request) -> bytes:
    """What LocalStack's API Gateway puts in the invocation request, the body a Lambda proxy
    integration then passes to the function."""
    context = RestApiInvocationContext(request)
    context.api_id = API_ID
    return InvocationRequestParser().create_invocation_request(context)["body"]


class BodiesReachTheFunctionAsSent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        apigateway_body.apply()

    def test_json_sent_the_way_curl_d_sends_it_reaches_the_function_unchanged(self):
        request = incoming(b'{"id":101,"amount":4999}', FORM)
        service_router_looks_at(request)
        self.assertEqual(body_given_to_the_integration(request), b'{"id":101,"amount":4999}')

    def test_a_body_no_one_has_parsed_yet_reaches_the_function_unchanged(self):
        # The execute-api routes can run before anything has looked at the form.
        request = incoming(b'{"id":101}', FORM)
        self.assertEqual(body_given_to_the_integration(request), b'{"id":101}')

    def test_a_real_form_reaches_the_function_byte_for_byte_not_re_encoded(self):
        # Re-encoding the parsed form would turn %20 into +: AWS passes the bytes through.
        body = b"name=Ada%20Lovelace&note=&tags=a&tags=b&sum=1%2B1"
        request = incoming(body, FORM)
        service_router_looks_at(request)
        self.assertEqual(body_given_to_the_integration(request), body)

    def test_a_json_body_declared_as_json_is_untouched_as_before(self):
        request = incoming(b'{"id":101}', "application/json")
        service_router_looks_at(request)
        self.assertEqual(body_given_to_the_integration(request), b'{"id":101}')

    def test_a_request_without_a_body_gives_the_function_an_empty_one(self):
        request = incoming(b"", None, method="GET", path=f"/_aws/execute-api/{API_ID}/local/orders/101")
        service_router_looks_at(request)
        self.assertEqual(body_given_to_the_integration(request), b"")


class ServicesThatTakeFormsAreUnaffected(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        apigateway_body.apply()

    def test_the_sqs_query_api_still_reads_its_form_fields(self):
        body = (b"Action=SendMessage&Version=2012-11-05&MessageBody=hello%20world%2B1"
                b"&QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F000000000000%2Forders")
        request = incoming(body, FORM, path="/")
        self.assertTrue(service_router_looks_at(request))
        operation, params = create_parser(load_service("sqs", protocol="query")).parse(request)
        self.assertEqual(operation.name, "SendMessage")
        self.assertEqual(params["MessageBody"], "hello world+1")
        self.assertEqual(params["QueueUrl"], "http://localhost:4566/000000000000/orders")

    def test_a_binary_upload_is_left_unread_for_its_service_to_stream(self):
        # S3 streams an upload to disk as it reads it: reading it all in while looking for a form
        # would hold every upload in memory.
        data = bytes(range(256)) * 64
        socket_stream = ReadCounting(data)
        request = incoming(socket_stream, "application/octet-stream", method="PUT", path="/bucket/key")
        service_router_looks_at(request)
        self.assertEqual(socket_stream.bytes_read, 0)
        self.assertEqual(request.stream.read(), data)

if __name__ == "__main__":
    unittest.main()
