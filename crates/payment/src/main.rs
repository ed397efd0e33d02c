use adapters::DynamoDbPaymentLedger;
use adapters::config::{self, required_env};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use payment::{ChargeRequest, PaymentService};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let table = required_env("PAYMENTS_TABLE")?;
    let outage_customer = std::env::var("SIMULATED_OUTAGE_CUSTOMER").ok();
    let aws = config::load().await;
    let service = PaymentService::new(
        DynamoDbPaymentLedger::new(aws_sdk_dynamodb::Client::new(&aws), table),
        outage_customer,
    );
    let service = &service;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ChargeRequest>| async move { service.charge(event.payload).await },
    ))
    .await
}
