//! The EMF documents a function emits, captured around one invocation, and their checks against
//! CloudWatch's specification of the embedded metric format (`fixtures/emf`).
//!
//! The `metrics` facade has one recorder per process, so [`capture`] installs it once per test
//! binary, for one service, and captures one invocation at a time. Tests that capture belong in
//! a test file of their own (`tests/metrics.rs`), where no other test records metrics meanwhile.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::OnceLock;

use adapters::metrics::{self, Metrics, SERVICE_DIMENSION};
use jsonschema::{Draft, Validator};
use serde_json::Value;

/// The namespace the captured documents are in.
pub const NAMESPACE: &str = "TestNamespace";

const SCHEMA: &str = include_str!("../fixtures/emf/schema.json");
/// The specification's limit on the values of one metric in one document.
const MAX_VALUES: usize = 100;

static INSTALLED: OnceLock<Metrics> = OnceLock::new();
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `invocation` as function `service` runs one, and returns what it returned with the
/// documents it emitted, each checked against the specification (a violation panics).
pub async fn capture<F: Future>(service: &'static str, invocation: F) -> (F::Output, Emitted) {
    let installed = *INSTALLED.get_or_init(|| {
        metrics::install(NAMESPACE.to_owned(), service).expect("the metrics recorder installs")
    });
    assert_eq!(
        installed.service(),
        service,
        "one service's metrics per test binary"
    );
    let _alone = ONE_AT_A_TIME.lock().await;
    installed
        .flush(std::io::sink())
        .expect("flushing to nowhere succeeds");
    installed.begin_invocation();
    let output = invocation.await;
    let mut written = Vec::new();
    installed
        .flush(&mut written)
        .expect("flushing to memory succeeds");
    let text = String::from_utf8(written).expect("EMF documents are UTF-8");
    let documents = text
        .lines()
        .map(|line| {
            let document: Value = serde_json::from_str(line).expect("each line is one JSON value");
            if let Err(violations) = check_emf(&document) {
                panic!("not an EMF document: {violations:?}\n{line}");
            }
            Document::read(&document).expect("a checked document reads")
        })
        .collect();
    (output, Emitted(documents))
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the EMF schema is JSON");
        // The schema's `$id`s are fragments, as draft 7 allowed.
        jsonschema::options()
            .with_draft(Draft::Draft7)
            .build(&schema)
            .expect("the EMF schema compiles")
    })
}

/// Checks one document against the specification: its JSON Schema, and the rules the schema
/// leaves out (each dimension named is a root member with a string value; each metric named is a
/// root member with a number, or an array of at most 100 numbers). Returns every violation.
pub fn check_emf(document: &Value) -> Result<(), Vec<String>> {
    let mut violations: Vec<String> = validator()
        .iter_errors(document)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    let directives = document["_aws"]["CloudWatchMetrics"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    for directive in directives {
        let dimension_sets = directive["Dimensions"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for dimension in dimension_sets
            .iter()
            .flat_map(|set| set.as_array().into_iter().flatten())
        {
            let name = dimension.as_str().unwrap_or_default();
            if !document[name].is_string() {
                violations.push(format!(
                    "dimension {name} is not a string member of the root"
                ));
            }
        }
        let metrics = directive["Metrics"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap_or_default();
            let valid = match &document[name] {
                Value::Number(_) => true,
                Value::Array(values) => {
                    values.len() <= MAX_VALUES && values.iter().all(Value::is_number)
                }
                _ => false,
            };
            if !valid {
                violations.push(format!(
                    "metric {name} is not a number or an array of at most {MAX_VALUES} numbers on the root"
                ));
            }
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// One metric of a document: its name, unit and dimensions, and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub namespace: String,
    pub name: String,
    pub unit: Option<String>,
    /// Every dimension, by name, with its value.
    pub dimensions: BTreeMap<String, String>,
    /// A count's one value, or a histogram's values.
    pub values: Vec<f64>,
}

/// One EMF document, read: its metrics and its root members.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub metrics: Vec<Metric>,
    pub root: serde_json::Map<String, Value>,
}

impl Document {
    /// Reads a document (one the logs hold, for example); `None` if it is not one.
    pub fn read(document: &Value) -> Option<Document> {
        let root = document.as_object()?;
        let mut metrics = Vec::new();
        for directive in root.get("_aws")?.get("CloudWatchMetrics")?.as_array()? {
            let namespace = directive["Namespace"].as_str()?.to_owned();
            for set in directive["Dimensions"].as_array()? {
                let dimensions = set
                    .as_array()?
                    .iter()
                    .map(|name| {
                        let name = name.as_str()?;
                        Some((name.to_owned(), root.get(name)?.as_str()?.to_owned()))
                    })
                    .collect::<Option<BTreeMap<_, _>>>()?;
                for metric in directive["Metrics"].as_array()? {
                    let name = metric["Name"].as_str()?;
                    let values = match root.get(name)? {
                        Value::Array(values) => values.iter().filter_map(Value::as_f64).collect(),
                        value => vec![value.as_f64()?],
                    };
                    metrics.push(Metric {
                        namespace: namespace.clone(),
                        name: name.to_owned(),
                        unit: metric["Unit"].as_str().map(str::to_owned),
                        dimensions: dimensions.clone(),
                        values,
                    });
                }
            }
        }
        Some(Document {
            metrics,
            root: root.clone(),
        })
    }

    /// A root member that is a string, such as the property `orderId`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.root.get(name)?.as_str()
    }
}

/// The documents one invocation emitted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Emitted(pub Vec<Document>);

impl Emitted {
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.0.iter().flat_map(|document| document.metrics.iter())
    }

    /// The metric `name` with exactly these dimensions besides `service`.
    pub fn metric(&self, name: &str, dimensions: &[(&str, &str)]) -> Option<&Metric> {
        self.metrics().find(|metric| {
            metric.name == name
                && metric.dimensions.len() == dimensions.len() + 1
                && metric.dimensions.contains_key(SERVICE_DIMENSION)
                && dimensions.iter().all(|(key, value)| {
                    metric.dimensions.get(*key).map(String::as_str) == Some(value)
                })
        })
    }

    /// The count `name` with exactly these dimensions besides `service`; 0 if not emitted.
    pub fn count(&self, name: &str, dimensions: &[(&str, &str)]) -> f64 {
        self.metric(name, dimensions)
            .map_or(0.0, |metric| metric.values.iter().sum())
    }

    /// The names of the metrics emitted, sorted, each once.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.metrics().map(|metric| metric.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The value of property `name` in every document, each distinct value once.
    pub fn property(&self, name: &str) -> Vec<Option<&str>> {
        let mut values: Vec<Option<&str>> = self
            .0
            .iter()
            .map(|document| document.property(name))
            .collect();
        values.dedup();
        values
    }
}
