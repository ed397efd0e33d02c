// The runtime's layers around the handler (tracing, metrics) nest deeper than the default limit.
#![recursion_limit = "256"]

use adapters::config::{self, required_env};
use adapters::redelivery::{IDEMPOTENCY_LIFETIME, IN_PROGRESS_WINDOW};
use adapters::{DynamoDbIdempotencyStore, DynamoDbPaymentLedger};
use domain::idempotency::Idempotent;
use lambda_runtime::{Error, LambdaEvent};
use payment::{ChargeRequest, PaymentService};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = adapters::metrics::init("payment")?;
    let table = required_env("PAYMENTS_TABLE")?;
    let idempotency_table = required_env("IDEMPOTENCY_TABLE")?;
    let aws = config::load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let service = PaymentService::new(
        DynamoDbPaymentLedger::new(dynamodb.clone(), table),
        Idempotent::new(
            DynamoDbIdempotencyStore::new(dynamodb, idempotency_table),
            IDEMPOTENCY_LIFETIME,
            IN_PROGRESS_WINDOW,
        ),
    );
    #[cfg(feature = "test-hooks")]
    let service = service.with_simulated_outage(std::env::var("SIMULATED_OUTAGE_CUSTOMER").ok());
    let service = &service;
    metrics.run(
        move |event: LambdaEvent<ChargeRequest>| async move { service.charge(event.payload).await },
    )
    .await
}
