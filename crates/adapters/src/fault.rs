//! Injected process faults, for the reliability suite only: a function that dies, or hangs past
//! its timeout, right after an effect and before the bookkeeping that records it, to show that
//! Lambda's retry makes up for it and the effect still happens once.
//!
//! Built only with the `test-hooks` feature, which the local stack's build turns on and the
//! build for AWS does not. Off unless `FAULT_INJECTION` is set: the template never sets it; the
//! suite sets it on one deployed function and removes it afterwards. Its value is `<kind>:<marker file>`, the kind
//! being `crash` (the process aborts) or `hang` (the invocation outlives the timeout). The marker
//! makes the fault fire once: the process that creates the file faults, every later one finds it
//! and runs normally, as a retry after a transient fault would. Host-mode LocalStack runs every
//! execution environment on one filesystem; on AWS each environment has its own `/tmp`, so there
//! it would fire once per environment.

use std::path::PathBuf;
use std::time::Duration;

use domain::RecordedEvent;
use domain::order::OrderView;
use domain::order::{OrderViews, Page, PageError, ViewWriteError};
use domain::ports::{EventPublisher, InfrastructureError, PublishOutcome};

pub const VARIABLE: &str = "FAULT_INJECTION";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Crash,
    Hang,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSwitch {
    kind: FaultKind,
    marker: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("{VARIABLE}={0:?}: expected crash:<marker file> or hang:<marker file>")]
pub struct InvalidFault(String);

impl FaultSwitch {
    /// The switch `FAULT_INJECTION` describes, if it is set.
    pub fn from_env() -> Result<Option<FaultSwitch>, InvalidFault> {
        match std::env::var(VARIABLE) {
            Ok(value) if !value.is_empty() => FaultSwitch::parse(&value).map(Some),
            _ => Ok(None),
        }
    }

    pub fn parse(value: &str) -> Result<FaultSwitch, InvalidFault> {
        let invalid = || InvalidFault(value.to_owned());
        let (kind, marker) = value.split_once(':').ok_or_else(invalid)?;
        let kind = match kind {
            "crash" => FaultKind::Crash,
            "hang" => FaultKind::Hang,
            _ => return Err(invalid()),
        };
        if marker.is_empty() {
            return Err(invalid());
        }
        Ok(FaultSwitch {
            kind,
            marker: PathBuf::from(marker),
        })
    }

    /// Faults, unless this switch's fault has fired already.
    pub fn trip(&self) {
        let first = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.marker)
            .is_ok();
        if !first {
            return;
        }
        eprintln!(
            "injected fault: {:?} ({})",
            self.kind,
            self.marker.display()
        );
        match self.kind {
            FaultKind::Crash => std::process::abort(),
            // Blocking on purpose: nothing of this process answers until Lambda stops it.
            FaultKind::Hang => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
        }
    }
}

/// A publisher that faults right after a publish call succeeds: the events are on the bus, and
/// the outbox has not yet marked them as published.
pub struct FaultyPublisher<P> {
    inner: P,
    switch: Option<FaultSwitch>,
}

impl<P> FaultyPublisher<P> {
    /// Without a switch it is `inner`, one branch per call apart.
    pub fn new(inner: P, switch: Option<FaultSwitch>) -> Self {
        FaultyPublisher { inner, switch }
    }
}

impl<P: EventPublisher> EventPublisher for FaultyPublisher<P> {
    const MAX_BATCH_ENTRIES: usize = P::MAX_BATCH_ENTRIES;
    const MAX_BATCH_BYTES: usize = P::MAX_BATCH_BYTES;

    fn entry_size(&self, event: &RecordedEvent) -> usize {
        self.inner.entry_size(event)
    }

    async fn publish(
        &self,
        events: &[RecordedEvent],
    ) -> Result<Vec<PublishOutcome>, InfrastructureError> {
        let outcomes = self.inner.publish(events).await?;
        if let Some(switch) = &self.switch {
            switch.trip();
        }
        Ok(outcomes)
    }
}

/// Order views that fault right after a view is written: the view holds the batch's events, and
/// Lambda has not been told the batch succeeded.
pub struct FaultyViews<V> {
    inner: V,
    switch: Option<FaultSwitch>,
}

impl<V> FaultyViews<V> {
    /// Without a switch it is `inner`, one branch per call apart.
    pub fn new(inner: V, switch: Option<FaultSwitch>) -> Self {
        FaultyViews { inner, switch }
    }
}

impl<V: OrderViews> OrderViews for FaultyViews<V> {
    async fn get(&self, key: &str) -> Result<Option<OrderView>, InfrastructureError> {
        self.inner.get(key).await
    }

    async fn put(&self, view: &OrderView, expected_version: u64) -> Result<(), ViewWriteError> {
        self.inner.put(view, expected_version).await?;
        if let Some(switch) = &self.switch {
            switch.trip();
        }
        Ok(())
    }

    async fn by_customer(
        &self,
        customer_id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrderView>, PageError> {
        self.inner.by_customer(customer_id, limit, cursor).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_names_its_kind_and_marker() {
        assert_eq!(
            FaultSwitch::parse("crash:/tmp/x").unwrap(),
            FaultSwitch {
                kind: FaultKind::Crash,
                marker: PathBuf::from("/tmp/x")
            }
        );
        assert_eq!(
            FaultSwitch::parse("hang:/tmp/y:z").unwrap().kind,
            FaultKind::Hang
        );
        for wrong in ["crash", "crash:", "explode:/tmp/x", ""] {
            assert!(FaultSwitch::parse(wrong).is_err(), "{wrong:?} accepted");
        }
    }

    /// The marker exists already: the fault fired in an earlier process, this one runs on.
    #[test]
    fn a_fault_fires_once() {
        let marker = std::env::temp_dir().join(format!("fault-{}", uuid::Uuid::new_v4()));
        std::fs::write(&marker, b"").unwrap();
        FaultSwitch::parse(&format!("crash:{}", marker.display()))
            .unwrap()
            .trip();
        std::fs::remove_file(marker).unwrap();
    }
}
