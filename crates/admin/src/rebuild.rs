//! Rebuilding the order views from the event store: every order's events folded again.

use std::collections::BTreeMap;

use adapters::dynamodb::EventFilter;
use adapters::{DynamoDbEventStore, DynamoDbOrderViews, EventItem};
use domain::order::{OrderEvent, OrderView};
use futures::stream::{self, StreamExt};

use crate::{AdminError, Progress};

/// Where the rebuilt views go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A new table, created here with the views table's schema.
    Fresh(String),
    /// An existing views table (the live one, say): views older than the rebuilt ones are
    /// replaced, newer ones (written meanwhile by the projection) are kept.
    Existing(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub events: usize,
    pub orders: usize,
    pub written: usize,
    /// Views the table already held at the same or a newer version.
    pub kept: usize,
    /// Orders whose events do not fold into a view, and why.
    pub failed: Vec<(String, String)>,
}

pub async fn rebuild_views(
    dynamodb: &aws_sdk_dynamodb::Client,
    events: &DynamoDbEventStore,
    target: &Target,
    progress: Progress<'_>,
) -> Result<RebuildReport, AdminError> {
    let table = match target {
        Target::Fresh(table) => {
            progress(format!("creating table {table}"));
            DynamoDbOrderViews::create_table(dynamodb, table).await?;
            table
        }
        Target::Existing(table) => table,
    };
    let views = DynamoDbOrderViews::new(dynamodb.clone(), table);

    progress("reading the event store".into());
    let items = events.scan(&EventFilter::All).await?;
    let mut report = RebuildReport {
        events: items.len(),
        ..RebuildReport::default()
    };
    let mut by_order: BTreeMap<String, Vec<EventItem>> = BTreeMap::new();
    for item in items {
        by_order
            .entry(item.aggregate_id.clone())
            .or_default()
            .push(item);
    }
    report.orders = by_order.len();
    progress(format!(
        "{} events of {} orders",
        report.events, report.orders
    ));

    let mut folded = Vec::new();
    for (key, items) in by_order {
        match fold(items) {
            Ok(Some(view)) => folded.push(view),
            Ok(None) => {}
            Err(reason) => report.failed.push((key, reason)),
        }
    }
    let total = folded.len();
    let mut writes =
        stream::iter(folded.iter().map(|view| views.put_if_newer(view))).buffer_unordered(16);
    let mut done = 0;
    while let Some(written) = writes.next().await {
        if written? {
            report.written += 1;
        } else {
            report.kept += 1;
        }
        done += 1;
        if done % 100 == 0 || done == total {
            progress(format!("{done}/{total} views written into {table}"));
        }
    }
    for (key, reason) in &report.failed {
        progress(format!("order {key} not rebuilt: {reason}"));
    }
    Ok(report)
}

fn fold(items: Vec<EventItem>) -> Result<Option<OrderView>, String> {
    let events = items
        .into_iter()
        .map(|item| {
            let recorded = item.into_recorded().map_err(|e| e.to_string())?;
            let event = OrderEvent::from_recorded(&recorded).map_err(|e| e.to_string())?;
            Ok((recorded.version, event))
        })
        .collect::<Result<Vec<_>, String>>()?;
    OrderView::fold(events.iter().map(|(version, event)| (*version, event)))
        .map_err(|e| e.to_string())
}
