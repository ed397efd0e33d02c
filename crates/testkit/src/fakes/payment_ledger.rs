use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::payment::{Charge, ChargeOnRecord, PaymentLedger};
use domain::ports::InfrastructureError;

use super::lock;

/// A payment ledger in memory: one charge per order key.
#[derive(Clone, Debug, Default)]
pub struct InMemoryPaymentLedger {
    charges: Arc<Mutex<HashMap<String, Charge>>>,
}

impl InMemoryPaymentLedger {
    pub fn charges(&self) -> Vec<Charge> {
        lock(&self.charges).values().cloned().collect()
    }
}

impl PaymentLedger for InMemoryPaymentLedger {
    async fn record(&self, charge: &Charge) -> Result<ChargeOnRecord, InfrastructureError> {
        let mut charges = lock(&self.charges);
        let key = charge.order_id.key();
        let new = !charges.contains_key(&key);
        let on_record = charges.entry(key).or_insert_with(|| charge.clone());
        Ok(ChargeOnRecord {
            payment_id: on_record.payment_id.clone(),
            amount: on_record.amount,
            currency: on_record.currency,
            new,
        })
    }
}
