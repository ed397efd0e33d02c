//! Answers every event with itself. Built with the same profile as the functions, it shows what
//! the runtime alone costs at start and in memory; the difference to a function is what the SDK
//! and the function's own code add.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
