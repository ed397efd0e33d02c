//! The event contracts of `events/schemas/`, embedded at build time so that any test (unit or
//! end-to-end) can check an EventBridge `detail` against the schema its metadata names.

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

/// The `$id` prefix of every schema; references between schemas resolve against it.
pub const SCHEMA_BASE: &str = "https://eda-demo.example/schemas/";

/// Embeds schema files of `events/schemas/` by name.
macro_rules! schemas {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../events/schemas/", $name)))),*]
    };
}

/// Every schema file, by name. A test checks this matches the folder.
pub const SCHEMAS: &[(&str, &str)] = schemas![
    "common.json",
    "OrderCreated.v1.json",
    "OrderCreated.v2.json",
    "OrderCreated.v3.json",
    "OrderCompleted.v1.json",
    "OrderCancelled.v1.json",
    "PaymentSucceeded.v1.json",
    "PaymentFailed.v1.json",
];

fn schema(name: &str) -> Option<Value> {
    SCHEMAS
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(file, text)| serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}")))
}

/// Serves the embedded schemas to the validator, so no reference ever reaches the network.
struct Embedded;

impl Retrieve for Embedded {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        uri.as_str()
            .strip_prefix(SCHEMA_BASE)
            .and_then(schema)
            .ok_or_else(|| format!("no embedded schema for {uri}").into())
    }
}

/// The validator of one event type and version, with formats (uuid, date-time) checked.
pub fn validator(event_type: &str, version: u64) -> Result<Validator, String> {
    let name = format!("{event_type}.v{version}.json");
    let schema = schema(&name).ok_or_else(|| format!("no schema {name} in events/schemas"))?;
    jsonschema::options()
        .with_retriever(Embedded)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("{name}: {e}"))
}

/// Checks a `detail` against the schema its `metadata.eventType` and `eventVersion` name.
/// Returns every violation.
pub fn validate_detail(detail: &Value) -> Result<(), Vec<String>> {
    let metadata = &detail["metadata"];
    let (Some(event_type), Some(version)) = (
        metadata["eventType"].as_str(),
        metadata["eventVersion"].as_u64(),
    ) else {
        return Err(vec!["detail has no metadata.eventType/eventVersion".into()]);
    };
    let validator = validator(event_type, version).map_err(|e| vec![e])?;
    let errors: Vec<String> = validator
        .iter_errors(detail)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/schemas");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = SCHEMAS.iter().map(|(name, _)| name.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn every_schema_compiles_and_declares_its_id() {
        for (name, text) in SCHEMAS {
            let schema: Value = serde_json::from_str(text).unwrap();
            assert_eq!(schema["$id"], format!("{SCHEMA_BASE}{name}"), "{name}");
            assert_eq!(
                schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{name}"
            );
            if let Some(stem) = name.strip_suffix(".json").and_then(|s| s.split_once(".v")) {
                validator(stem.0, stem.1.parse().unwrap()).unwrap();
            }
        }
    }

    #[test]
    fn a_detail_without_metadata_is_refused() {
        assert!(validate_detail(&serde_json::json!({"data": {}})).is_err());
    }
}
