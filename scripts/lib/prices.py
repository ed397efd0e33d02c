"""AWS list prices, us-east-1, in one place, so that every bill of this project is computed from the
same figures and says where they come from. Read 2026-12 from AWS's public pricing pages (the page
is named beside each figure); no free tier, no savings plan, no volume tier past the first. A figure
marked "not in anchors" is AWS's published price as known to the author, not re-read this month:
check it before relying on it. Amounts are dollars per unit (per request, per GB-second...)."""

READ = "2026-12"
REGION = "us-east-1"
MILLION = 1_000_000
GIB = 1024 ** 3  # AWS bills a GB of logs and a GB of memory as 2^30 bytes

# AWS Lambda pricing (aws.amazon.com/lambda/pricing), first tier.
LAMBDA_REQUEST = 0.20 / MILLION
LAMBDA_GB_SECOND = {
    "arm64": 0.0000133334,
    "x86_64": 0.0000166667,  # not in anchors: AWS's published x86 price
}

# Amazon API Gateway pricing (aws.amazon.com/api-gateway/pricing): REST APIs, first 333 million.
API_GATEWAY_REST_REQUEST = 3.50 / MILLION

# Amazon DynamoDB pricing, on-demand (aws.amazon.com/dynamodb/pricing/on-demand).
DYNAMODB_WRITE_UNIT = 0.625 / MILLION
DYNAMODB_READ_UNIT = 0.125 / MILLION

# AWS Step Functions pricing (aws.amazon.com/step-functions/pricing).
STEP_FUNCTIONS_STANDARD_TRANSITION = 25.00 / MILLION
STEP_FUNCTIONS_EXPRESS_REQUEST = 1.00 / MILLION
STEP_FUNCTIONS_EXPRESS_GB_SECOND = 0.00001667
STEP_FUNCTIONS_EXPRESS_MIN_MB = 64  # an Express execution is billed for at least 64 MB
STEP_FUNCTIONS_EXPRESS_BILLING_MS = 100  # and per started 100 ms

# Amazon EventBridge pricing (aws.amazon.com/eventbridge/pricing): custom events put on a bus, each
# 64 KB chunk of an entry one event; delivering to an AWS service target costs nothing more.
EVENTBRIDGE_CUSTOM_EVENT = 1.00 / MILLION
EVENTBRIDGE_CHUNK_BYTES = 64 * 1024

# Amazon SNS pricing (aws.amazon.com/sns/pricing): standard topics, per publish (64 KB chunks);
# deliveries to Lambda and SQS cost nothing; email deliveries do.
SNS_PUBLISH = 0.50 / MILLION
SNS_EMAIL_DELIVERY = 2.00 / 100_000  # not in anchors: AWS's published email price

# Amazon CloudWatch pricing (aws.amazon.com/cloudwatch/pricing): logs ingested (standard class).
CLOUDWATCH_LOGS_INGESTED_GB = 0.50

# Amazon SQS pricing (aws.amazon.com/sqs/pricing): standard queues, per request (64 KB chunks).
SQS_REQUEST = 0.40 / MILLION  # not in anchors: AWS's published price past the free tier

# AWS X-Ray pricing (aws.amazon.com/xray/pricing): per trace recorded (sampled; not per call).
XRAY_TRACE_RECORDED = 5.00 / MILLION
