"""AWS's default quotas in us-east-1, in one place, for the capacity model (capacity.py): each a
named constant with the page it is from, read 2026-12. Most can be raised on request; these are
what a new account gets. A figure marked "not in anchors" was not re-read this month."""

READ = "2026-12"

# Amazon API Gateway quotas (API Gateway Developer Guide, "Amazon API Gateway quotas"):
# requests per second per account and region, across all APIs, and the burst.
API_GATEWAY_ACCOUNT_RPS = 10_000
API_GATEWAY_ACCOUNT_BURST = 5_000

# AWS Lambda quotas (Lambda Developer Guide, "Lambda quotas"; "Lambda scaling behavior").
LAMBDA_CONCURRENCY = 1_000  # concurrent executions per account, shared by every function
LAMBDA_SCALING_STEP = 1_000  # each function may add this many environments...
LAMBDA_SCALING_SECONDS = 10  # ...every this many seconds
LAMBDA_INVOCATIONS_PER_CONCURRENCY = 10  # invocations per second: 10 x the concurrency (not in anchors)

# Amazon DynamoDB (Developer Guide, "On-demand capacity mode": initial throughput of a new table;
# "Service, account, and table quotas": per partition).
DYNAMODB_NEW_TABLE_WRU = 4_000  # a new on-demand table, per second; doubles with traffic
DYNAMODB_NEW_TABLE_RRU = 12_000
# The starting throughput is not a quota: an on-demand table serves up to double its previous peak
# at once and allocates more within 30 minutes ("On-demand capacity mode"), up to the table's
# quota ("Throughput default quotas": per on-demand table, 40,000 of each a second).
DYNAMODB_TABLE_WRU = 40_000
DYNAMODB_TABLE_RRU = 40_000
DYNAMODB_WARM_UP_SECONDS = 30 * 60  # to double the previous peak
DYNAMODB_PARTITION_WRU = 1_000
DYNAMODB_PARTITION_RRU = 3_000  # not in anchors
DYNAMODB_STREAM_RETENTION_SECONDS = 24 * 3600  # a stream record is kept 24 hours
DYNAMODB_STREAM_READERS_PER_SHARD = 2

# Amazon EventBridge quotas (EventBridge User Guide, "Amazon EventBridge quotas"), us-east-1.
EVENTBRIDGE_PUT_EVENTS = 10_000  # per second; counted here per entry, the conservative reading
EVENTBRIDGE_TARGET_INVOCATIONS = 18_750  # per second, every rule's deliveries together

# AWS Step Functions quotas (Developer Guide, "Step Functions service quotas": token buckets).
SFN_STANDARD_START_BUCKET = 1_300
SFN_STANDARD_START_REFILL = 300  # per second
SFN_STANDARD_TRANSITION_BUCKET = 5_000
SFN_STANDARD_TRANSITION_REFILL = 1_500  # per second
SFN_EXPRESS_START = 6_000  # per second; Express has no state-transition quota

# Amazon SNS (AWS General Reference, "Amazon Simple Notification Service endpoints and quotas"):
# Publish to standard topics, us-east-1 (9,000 in us-west-2 and eu-west-1; 1,500 elsewhere). Not in
# anchors: AWS's published figure as known to the author, not re-read this month.
SNS_PUBLISH = 30_000
# An email subscription takes at most 10 messages a second; past that SNS disables it (AWS
# Knowledge Center, "Why was my Amazon SNS email subscription disabled?").
SNS_EMAIL_DELIVERIES_PER_SUBSCRIPTION = 10
