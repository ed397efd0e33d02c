//! The throwaway queue behind each probe.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

use crate::{World, unique_id};

/// A throwaway SQS queue that a probe points something at.
pub(crate) struct TestQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
    pub(crate) arn: String,
}

impl TestQueue {
    pub(crate) async fn create(world: &World, name: &str) -> TestQueue {
        let url = world
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create a probe queue")
            .queue_url
            .expect("queue url");
        let arn = world
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("probe queue attributes")
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .expect("queue arn");
        TestQueue {
            sqs: world.sqs.clone(),
            url,
            arn,
        }
    }

    /// Lets `service` (from `source_arn`) send to the queue.
    pub(crate) async fn allow(&self, service: &str, source_arn: &str) {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sqs:SendMessage",
                "Resource": self.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}
            }]
        });
        self.sqs
            .set_queue_attributes()
            .queue_url(&self.url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .expect("set the probe queue's policy");
    }

    /// Every message body that arrives until `quiet` passes without a new one after at least
    /// `expected` arrived, or until `deadline` passes.
    pub(crate) async fn collect(
        &self,
        expected: usize,
        deadline: Duration,
        quiet: Duration,
    ) -> Vec<Value> {
        let start = Instant::now();
        let mut bodies = Vec::new();
        let mut last = Instant::now();
        while start.elapsed() < deadline && (bodies.len() < expected || last.elapsed() < quiet) {
            let received = self.receive().await;
            if !received.is_empty() {
                last = Instant::now();
            }
            bodies.extend(received);
        }
        bodies
    }

    /// The messages one receive call gets (long-polling a second), deleted from the queue.
    pub(crate) async fn receive(&self) -> Vec<Value> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from a probe queue");
        let mut bodies = Vec::new();
        for message in received.messages.unwrap_or_default() {
            let body = message.body.as_deref().unwrap_or("null");
            bodies.push(serde_json::from_str(body).expect("a JSON message"));
            if let Some(handle) = message.receipt_handle {
                let _ = self
                    .sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
        bodies
    }

    pub(crate) async fn delete(&self) {
        let _ = self.sqs.delete_queue().queue_url(&self.url).send().await;
    }
}

pub(crate) fn probe_name() -> String {
    unique_id("e2e-probe")
}

/// A throwaway queue subscribed to an SNS topic, as a subscriber of the real system would be:
/// to every message, or to those `filter_policy` lets through.
pub(crate) struct TopicSubscription {
    sns: aws_sdk_sns::Client,
    subscription: String,
    pub(crate) queue: TestQueue,
}

impl TopicSubscription {
    pub(crate) async fn start(
        world: &World,
        topic: &str,
        filter_policy: Option<Value>,
    ) -> TopicSubscription {
        let queue = TestQueue::create(world, &probe_name()).await;
        queue.allow("sns.amazonaws.com", topic).await;
        let mut subscribe = world
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(&queue.arn)
            .return_subscription_arn(true);
        if let Some(policy) = filter_policy {
            subscribe = subscribe.attributes("FilterPolicy", policy.to_string());
        }
        let subscription = subscribe
            .send()
            .await
            .unwrap_or_else(|e| panic!("subscribe a probe queue to {topic}: {e}"))
            .subscription_arn
            .expect("subscription arn");
        TopicSubscription {
            sns: world.sns.clone(),
            subscription,
            queue,
        }
    }

    /// Unsubscribes and deletes the queue.
    pub(crate) async fn close(&self) {
        let _ = self
            .sns
            .unsubscribe()
            .subscription_arn(&self.subscription)
            .send()
            .await;
        self.queue.delete().await;
    }
}
