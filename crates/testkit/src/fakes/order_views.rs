use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use domain::order::OrderView;
use domain::order::{OrderViews, Page, PageError, ViewWriteError};
use domain::ports::InfrastructureError;

use super::lock;

/// Order views in memory, with the DynamoDB adapter's version check and customer listing.
#[derive(Clone, Debug, Default)]
pub struct InMemoryOrderViews {
    views: Arc<Mutex<BTreeMap<String, OrderView>>>,
}

impl InMemoryOrderViews {
    pub fn all(&self) -> Vec<OrderView> {
        lock(&self.views).values().cloned().collect()
    }
}

impl OrderViews for InMemoryOrderViews {
    async fn get(&self, key: &str) -> Result<Option<OrderView>, InfrastructureError> {
        Ok(lock(&self.views).get(key).cloned())
    }

    async fn put(&self, view: &OrderView, expected_version: u64) -> Result<(), ViewWriteError> {
        let mut views = lock(&self.views);
        let held = views.get(&view.id.key()).map_or(0, |v| v.version);
        if held != expected_version {
            return Err(ViewWriteError::Conflict);
        }
        views.insert(view.id.key(), view.clone());
        Ok(())
    }

    /// Newest first; the cursor is simply how many orders were already returned.
    async fn by_customer(
        &self,
        customer_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrderView>, PageError> {
        let skip: usize = cursor
            .map(str::parse)
            .transpose()
            .map_err(|_| PageError::BadCursor)?
            .unwrap_or(0);
        let mut orders: Vec<OrderView> = lock(&self.views)
            .values()
            .filter(|v| v.customer_id.as_deref() == Some(customer_id))
            .cloned()
            .collect();
        orders.sort_by_key(|view| std::cmp::Reverse((view.created_at, view.id.key())));
        let items: Vec<OrderView> = orders
            .iter()
            .skip(skip)
            .take(limit as usize)
            .cloned()
            .collect();
        let next = skip + items.len();
        Ok(Page {
            next_cursor: (next < orders.len()).then(|| next.to_string()),
            items,
        })
    }
}
