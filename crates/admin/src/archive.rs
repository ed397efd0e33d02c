//! Replaying a window of the bus's archive through the bus again (EventBridge `StartReplay`), and
//! following the replay to its end (`DescribeReplay`).
//!
//! The archive holds every event published on the bus, the payment service's too, which the event
//! store does not; EventBridge sends each archived event of the window to the bus's rules again,
//! with the same id. Consumers are idempotent by event id and by order, so a replayed event that
//! was handled has no second effect and one that was missed is handled now.

use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime as AwsDateTime;
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use chrono::{DateTime, Utc};
use domain::ports::InfrastructureError;

use crate::{AdminError, Progress};

/// What to replay, from where, to where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveReplay {
    /// The replay's name, unique in the account and region.
    pub name: String,
    pub archive_arn: String,
    /// The bus the events go back to (a replay's destination must be its archive's bus).
    pub bus_arn: String,
    /// The window, by the time each event reached the bus: from, included ...
    pub from: DateTime<Utc>,
    /// ... to, excluded.
    pub to: DateTime<Utc>,
}

/// How a replay ended, or that it was only started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayEnd {
    /// Started, not followed (`--no-wait`).
    Started,
    Completed,
    Failed(String),
    Cancelled(String),
}

impl ArchiveReplay {
    /// A replay named for when it was asked for (names are unique per account and region, and
    /// say who started it).
    pub fn named_at(now: DateTime<Utc>) -> String {
        format!("eda-admin-{}", now.format("%Y%m%dT%H%M%S%3fZ"))
    }

    pub fn check(&self) -> Result<(), AdminError> {
        if self.from >= self.to {
            return Err(AdminError::Invalid(format!(
                "--from ({}) must be before --to ({})",
                self.from.to_rfc3339(),
                self.to.to_rfc3339()
            )));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "{} of {} from {} to {} into {}",
            self.name,
            self.archive_arn,
            self.from.to_rfc3339(),
            self.to.to_rfc3339(),
            self.bus_arn
        )
    }
}

/// Starts the replay and, with `follow` (the time between two looks), follows it until it ends.
pub async fn replay_from_archive(
    client: &Client,
    replay: &ArchiveReplay,
    follow: Option<Duration>,
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<ReplayEnd, AdminError> {
    replay.check()?;
    if dry_run {
        progress(format!("would start replay {}", replay.describe()));
        return Ok(ReplayEnd::Started);
    }
    let destination = ReplayDestination::builder()
        .arn(&replay.bus_arn)
        .build()
        .map_err(InfrastructureError::new)?;
    let started = client
        .start_replay()
        .replay_name(&replay.name)
        .event_source_arn(&replay.archive_arn)
        .event_start_time(aws_time(replay.from))
        .event_end_time(aws_time(replay.to))
        .destination(destination)
        .send()
        .await
        .map_err(|e| InfrastructureError::new(DisplayErrorContext(e)))?;
    progress(format!(
        "started replay {} ({})",
        replay.describe(),
        state_name(started.state())
    ));
    let Some(interval) = follow else {
        progress(format!(
            "not waiting: aws events describe-replay --replay-name {} says how it goes",
            replay.name
        ));
        return Ok(ReplayEnd::Started);
    };
    let mut said = String::new();
    loop {
        let described = client
            .describe_replay()
            .replay_name(&replay.name)
            .send()
            .await
            .map_err(|e| InfrastructureError::new(DisplayErrorContext(e)))?;
        let reason = described.state_reason().unwrap_or_default().to_owned();
        let line = match described.event_last_replayed_time() {
            Some(at) => format!(
                "replay {}: {}, replayed up to {at}",
                replay.name,
                state_name(described.state())
            ),
            None => format!("replay {}: {}", replay.name, state_name(described.state())),
        };
        if line != said {
            progress(line.clone());
            said = line;
        }
        match described.state() {
            Some(ReplayState::Completed) => return Ok(ReplayEnd::Completed),
            Some(ReplayState::Failed) => {
                progress(format!("replay {} failed: {reason}", replay.name));
                return Ok(ReplayEnd::Failed(reason));
            }
            Some(ReplayState::Cancelled) => {
                progress(format!("replay {} was cancelled: {reason}", replay.name));
                return Ok(ReplayEnd::Cancelled(reason));
            }
            _ => tokio::time::sleep(interval).await,
        }
    }
}

fn aws_time(at: DateTime<Utc>) -> AwsDateTime {
    AwsDateTime::from_millis(at.timestamp_millis())
}

fn state_name(state: Option<&ReplayState>) -> &str {
    state.map_or("no state", ReplayState::as_str)
}

#[cfg(test)]
mod tests {
    use aws_sdk_eventbridge::operation::describe_replay::DescribeReplayOutput;
    use aws_sdk_eventbridge::operation::start_replay::StartReplayOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    const ARCHIVE: &str = "arn:aws:events:eu-west-1:111111111111:archive/eda-demo-events";
    const BUS: &str = "arn:aws:events:eu-west-1:111111111111:event-bus/eda-demo";

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn window() -> ArchiveReplay {
        ArchiveReplay {
            name: "eda-admin-test".into(),
            archive_arn: ARCHIVE.into(),
            bus_arn: BUS.into(),
            from: at("2026-12-01T10:00:00Z"),
            to: at("2026-12-01T11:30:00.250Z"),
        }
    }

    fn described(state: ReplayState, reason: Option<&str>) -> DescribeReplayOutput {
        DescribeReplayOutput::builder()
            .replay_name("eda-admin-test")
            .state(state)
            .set_state_reason(reason.map(str::to_owned))
            .build()
    }

    /// Runs the replay against clients answering with `states` in turn; what it said, and how it
    /// ended.
    async fn run(
        states: Vec<DescribeReplayOutput>,
        follow: bool,
    ) -> (Vec<String>, ReplayEnd, usize, usize) {
        let start = mock!(Client::start_replay)
            .match_requests(|request| {
                let destination = request.destination().unwrap();
                request.replay_name() == Some("eda-admin-test")
                    && request.event_source_arn() == Some(ARCHIVE)
                    && request.event_start_time() == Some(&AwsDateTime::from_secs(1_796_119_200))
                    && request.event_end_time()
                        == Some(&AwsDateTime::from_millis(1_796_124_600_250))
                    && destination.arn() == BUS
                    && destination.filter_arns().is_empty()
            })
            .then_output(|| {
                StartReplayOutput::builder()
                    .state(ReplayState::Starting)
                    .build()
            });
        let mut sequence = mock!(Client::describe_replay)
            .match_requests(|request| request.replay_name() == Some("eda-admin-test"))
            .sequence();
        for state in states {
            sequence = sequence.output(move || state.clone());
        }
        let describe = sequence.build();
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&start, &describe]);
        let mut said = Vec::new();
        let follow = follow.then_some(Duration::ZERO);
        let end = replay_from_archive(&client, &window(), follow, false, &mut |line| {
            said.push(line)
        })
        .await
        .unwrap();
        (said, end, start.num_calls(), describe.num_calls())
    }

    #[tokio::test]
    async fn starts_the_window_from_the_archive_into_the_bus_and_follows_it_to_completion() {
        let (said, end, starts, looks) = run(
            vec![
                described(ReplayState::Running, None),
                described(ReplayState::Running, None),
                described(ReplayState::Completed, None),
            ],
            true,
        )
        .await;
        assert_eq!((end, starts, looks), (ReplayEnd::Completed, 1, 3));
        assert!(
            said[0].starts_with("started replay eda-admin-test of "),
            "{said:?}"
        );
        assert_eq!(
            &said[1..],
            [
                "replay eda-admin-test: RUNNING",
                "replay eda-admin-test: COMPLETED"
            ],
            "a state is said once, when it changes"
        );
    }

    #[tokio::test]
    async fn a_failed_replay_ends_with_its_reason() {
        let (said, end, _, looks) = run(
            vec![
                described(ReplayState::Starting, None),
                described(ReplayState::Failed, Some("the archive is gone")),
            ],
            true,
        )
        .await;
        assert_eq!(end, ReplayEnd::Failed("the archive is gone".into()));
        assert_eq!(looks, 2);
        assert_eq!(
            said.last().unwrap(),
            "replay eda-admin-test failed: the archive is gone"
        );
    }

    #[tokio::test]
    async fn a_cancelled_replay_ends_as_cancelled() {
        let (_, end, _, _) = run(
            vec![
                described(ReplayState::Cancelling, Some("cancelled by a person")),
                described(ReplayState::Cancelled, Some("cancelled by a person")),
            ],
            true,
        )
        .await;
        assert_eq!(end, ReplayEnd::Cancelled("cancelled by a person".into()));
    }

    #[tokio::test]
    async fn without_following_it_only_starts_it() {
        let (said, end, starts, looks) = run(vec![], false).await;
        assert_eq!((end, starts, looks), (ReplayEnd::Started, 1, 0));
        assert!(said[1].contains("describe-replay --replay-name eda-admin-test"));
    }

    #[tokio::test]
    async fn a_dry_run_or_an_empty_window_calls_nothing() {
        let start =
            mock!(Client::start_replay).then_output(|| StartReplayOutput::builder().build());
        let client = mock_client!(aws_sdk_eventbridge, [&start]);
        let mut said = Vec::new();
        let end = replay_from_archive(&client, &window(), None, true, &mut |line| said.push(line))
            .await
            .unwrap();
        assert_eq!(end, ReplayEnd::Started);
        assert!(said[0].starts_with("would start replay eda-admin-test of "));
        let backwards = ArchiveReplay {
            from: window().to,
            to: window().from,
            ..window()
        };
        let error = replay_from_archive(&client, &backwards, None, false, &mut |_| {})
            .await
            .unwrap_err();
        assert!(error.to_string().contains("must be before --to"), "{error}");
        assert_eq!(start.num_calls(), 0);
    }

    #[test]
    fn a_replay_is_named_for_when_it_was_asked_for_within_the_limits_of_a_name() {
        let name = ArchiveReplay::named_at(at("2026-12-01T10:00:00.123Z"));
        assert_eq!(name, "eda-admin-20261201T100000123Z");
        assert!(name.len() <= 64);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        );
    }
}
