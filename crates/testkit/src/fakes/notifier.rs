use std::sync::{Arc, Mutex};

use domain::ports::{InfrastructureError, Notification, Notifier};

use super::lock;

/// A notifier that keeps what it sends, and can be told to fail.
#[derive(Clone, Debug, Default)]
pub struct InMemoryNotifier {
    sent: Arc<Mutex<Vec<Notification>>>,
    failing_calls: Arc<Mutex<usize>>,
}

impl InMemoryNotifier {
    pub fn sent(&self) -> Vec<Notification> {
        lock(&self.sent).clone()
    }

    /// Fails the next `calls` sends.
    pub fn fail_calls(&self, calls: usize) {
        *lock(&self.failing_calls) = calls;
    }
}

impl Notifier for InMemoryNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, InfrastructureError> {
        let mut failing = lock(&self.failing_calls);
        if *failing > 0 {
            *failing -= 1;
            return Err(InfrastructureError("topic unavailable".into()));
        }
        let mut sent = lock(&self.sent);
        sent.push(notification.clone());
        Ok(format!("message-{}", sent.len()))
    }
}
