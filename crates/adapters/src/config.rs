//! Configuration from the environment, read once at cold start.

use aws_config::{BehaviorVersion, SdkConfig};

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} is not set (the template sets it for every function)")]
pub struct MissingVariable {
    pub name: &'static str,
}

/// A required setting, such as a table name.
pub fn required_env(name: &'static str) -> Result<String, MissingVariable> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or(MissingVariable { name })
}

/// The SDK configuration of the function's environment: region and credentials from Lambda's
/// variables, and `AWS_ENDPOINT_URL` when set (LocalStack), so no code differs between a local
/// stack and AWS.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
