//! The functions' metrics, as CloudWatch would extract them: the embedded metric format
//! documents in their logs.

use chrono::{DateTime, Utc};
use testkit::metrics::{Document, check_emf};

use crate::World;

impl World {
    /// The EMF documents `function` wrote since `since`, each checked against the format's
    /// specification (a violation panics: CloudWatch would drop the document).
    pub async fn metric_documents(&self, function: &str, since: DateTime<Utc>) -> Vec<Document> {
        self.function_log(function, since)
            .await
            .iter()
            .filter(|line| line.get("_aws").is_some())
            .map(|line| {
                if let Err(violations) = check_emf(line) {
                    panic!("{function} wrote a document CloudWatch would reject: {violations:?}\n{line}");
                }
                Document::read(line).expect("a checked document reads")
            })
            .collect()
    }
}
