"""Makes LocalStack's API Gateway pass form-encoded request bodies to Lambda unchanged, as AWS does.

`curl -d '{"id":101}'` sends its JSON body as `application/x-www-form-urlencoded`. LocalStack's
gateway parses such bodies as form data before any route runs (its service router looks for an
`Action` field), which consumes the raw body; the API Gateway proxy then re-encodes the parsed form
(rolo's `restore_payload`), and the function receives `%7B%22id%22%3A101%7D=` instead of the JSON.
AWS passes the body through untouched, and so should the local stack.

Two small patches, applied when this executor is loaded:
  * a url-encoded request keeps its raw body when its form is parsed (werkzeug then parses the
    cached copy, so services that really use form data, such as SQS's query API, see no difference);
  * the API Gateway proxy forwards that raw body instead of a re-encoding of the form.
"""

import logging

LOG = logging.getLogger(__name__)
_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from rolo.request import restore_payload
    from werkzeug.wrappers import Request  # what the gateway builds for each incoming request

    from localstack.services.apigateway.next_gen.execute_api.handlers import parse

    load_form_data = Request._load_form_data

    def _load_form_data_keeping_body(self):
        # Only url-encoded forms: their parsing consumes the body anyway. Other bodies (S3 uploads)
        # must stay unread streams.
        if (
            "form" not in self.__dict__
            and not self.shallow
            and self.mimetype == "application/x-www-form-urlencoded"
        ):
            self.get_data(cache=True, parse_form_data=False)
        load_form_data(self)

    def restore_raw_payload(request):
        cached = getattr(request, "_cached_data", None)
        if cached is not None:
            return cached
        if "form" not in request.__dict__ and not request.shallow:
            # Not parsed yet (the execute-api route runs before the service router): read it raw.
            return request.get_data(cache=True, parse_form_data=False)
        return restore_payload(request)

    Request._load_form_data = _load_form_data_keeping_body
    parse.restore_payload = restore_raw_payload
    _applied = True
    LOG.info("API Gateway now forwards form-encoded bodies unchanged (host-lambda patch)")
