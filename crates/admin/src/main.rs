use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use adapters::{DynamoDbEventStore, EventBridgePublisher};
use admin::dead_letters::{self, Consumers, Queue, RedriveReport};
use admin::rebuild::{Target, rebuild_views};
use admin::replay::{Selection, replay};
use admin::{AdminError, Settings, pending};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use outbox_processor::Outbox;

/// Operations on the order system's event store.
#[derive(Parser)]
#[command(name = "eda-admin", version)]
struct Cli {
    /// The stack's settings, as deploying it wrote them.
    #[arg(long, default_value = ".local/stack.env")]
    env_file: PathBuf,
    /// The event-store table (default: from the env file).
    #[arg(long)]
    event_store_table: Option<String>,
    /// The order views table (default: from the env file).
    #[arg(long)]
    views_table: Option<String>,
    /// The event bus (default: from the env file).
    #[arg(long)]
    event_bus: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild every order view from the event store.
    RebuildViews {
        /// Into a new table of this name (created here), e.g. to compare it with the live one.
        #[arg(long, conflicts_with = "in_place")]
        into: Option<String>,
        /// Into the live views table: older views are replaced, newer ones kept.
        #[arg(long)]
        in_place: bool,
    },
    /// Publish stored events to the bus again, marked as replayed.
    Replay {
        /// Every event of this order.
        #[arg(long, conflicts_with_all = ["from", "to", "stuck_for"])]
        order: Option<String>,
        /// Events that occurred from this time (RFC 3339) ...
        #[arg(long, requires = "to")]
        from: Option<DateTime<Utc>>,
        /// ... to this time (RFC 3339).
        #[arg(long, requires = "from")]
        to: Option<DateTime<Utc>>,
        /// The latest event of every order that has not ended and has not moved for this many
        /// seconds: starts its next step again.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        stuck_for: Option<u64>,
        /// List what would be replayed, publish nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the events stored but not published after some time, and publish them.
    PublishPending {
        /// Only events older than this many seconds.
        #[arg(long, default_value_t = 60)]
        older_than: u64,
        /// List them, publish nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// What the stack gave up on after its retries, parked in its dead-letter queues.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
}

#[derive(Subcommand)]
enum DeadLettersCommand {
    /// List the letters in each queue, leaving them there.
    List {
        /// Which queue.
        #[arg(long, value_enum, default_value_t = Queues::All)]
        queue: Queues,
    },
    /// After a fix, hand each letter back to what it was meant for; delete it if that worked.
    Redrive {
        /// Which queue ("all" for the five, one after the other).
        #[arg(long, value_enum)]
        queue: Queues,
        /// Say what would be done, do nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A dead-letter queue, or all five.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Queues {
    All,
    Outbox,
    Projection,
    PaymentRule,
    UpdateOrder,
    Notification,
}

impl Queues {
    fn selected(self) -> Vec<Queue> {
        match self {
            Queues::All => Queue::ALL.to_vec(),
            Queues::Outbox => vec![Queue::Outbox],
            Queues::Projection => vec![Queue::Projection],
            Queues::PaymentRule => vec![Queue::PaymentRule],
            Queues::UpdateOrder => vec![Queue::UpdateOrder],
            Queues::Notification => vec![Queue::Notification],
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(error) => {
            eprintln!("eda-admin: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; `Ok(false)` when it finished but some items failed.
async fn run(cli: Cli) -> Result<bool, AdminError> {
    let mut settings = if cli.env_file.exists() {
        Settings::from_env_file(&cli.env_file)?
    } else {
        Settings::default()
    };
    if let Some(table) = cli.event_store_table {
        settings.event_store_table = table;
    }
    if let Some(table) = cli.views_table {
        settings.views_table = table;
    }
    if let Some(bus) = cli.event_bus {
        settings.event_bus = bus;
    }
    settings.check()?;
    let aws = settings.aws().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let events = DynamoDbEventStore::new(dynamodb.clone(), &settings.event_store_table);
    let bus =
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&aws), &settings.event_bus);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let lambda = aws_sdk_lambda::Client::new(&aws);
    let sfn = aws_sdk_sfn::Client::new(&aws);
    let mut progress = |line: String| println!("{line}");

    match cli.command {
        Command::RebuildViews { into, in_place } => {
            let target = match (into, in_place) {
                (Some(table), false) => Target::Fresh(table),
                (None, true) => Target::Existing(settings.views_table.clone()),
                _ => {
                    return Err(AdminError::Invalid(
                        "say where: --into <new table> or --in-place".into(),
                    ));
                }
            };
            let report = rebuild_views(&dynamodb, &events, &target, &mut progress).await?;
            println!(
                "rebuilt {} views of {} orders from {} events ({} already current)",
                report.written, report.orders, report.events, report.kept
            );
            Ok(report.failed.is_empty())
        }
        Command::Replay {
            order,
            from,
            to,
            stuck_for,
            dry_run,
        } => {
            let selection = match (order, from, to, stuck_for) {
                (Some(order), None, None, None) => Selection::Order(order),
                (None, Some(from), Some(to), None) => Selection::Between(from, to),
                (None, None, None, Some(seconds)) => {
                    Selection::StuckSince(Utc::now() - Duration::from_secs(seconds))
                }
                _ => {
                    return Err(AdminError::Invalid(
                        "say what: --order <id>, --from and --to, or --stuck-for <seconds>".into(),
                    ));
                }
            };
            let report = replay(&events, &bus, &selection, dry_run, &mut progress).await?;
            Ok(report.failed.is_empty())
        }
        Command::PublishPending {
            older_than,
            dry_run,
        } => {
            let outbox = Outbox::new(bus, events.clone());
            let report = pending::publish_pending(
                &events,
                &outbox,
                Duration::from_secs(older_than),
                dry_run,
                &mut progress,
            )
            .await?;
            Ok(report.failed == 0)
        }
        Command::DeadLetters { command } => {
            // `None` to list, `Some(dry_run)` to re-drive.
            let (queues, redrive) = match command {
                DeadLettersCommand::List { queue } => (queue.selected(), None),
                DeadLettersCommand::Redrive { queue, dry_run } => (queue.selected(), Some(dry_run)),
            };
            let outbox = Outbox::new(bus, events.clone());
            let consumers = Consumers {
                lambda: &lambda,
                sfn: &sfn,
                dynamodb: &dynamodb,
                events: &events,
                outbox: &outbox,
                views_table: &settings.views_table,
                update_order_function: &settings.update_order_function,
                notification_function: &settings.notification_function,
                payment_state_machine: &settings.payment_state_machine_arn,
            };
            let several = queues.len() > 1;
            let mut total = RedriveReport::default();
            for queue in queues {
                let Some(queue) = settings.dead_letter_queue(queue) else {
                    println!("{queue}: no queue URL in the settings, skipped");
                    continue;
                };
                match redrive {
                    None => {
                        dead_letters::list(&sqs, &queue, &mut progress).await?;
                    }
                    Some(dry_run) => {
                        let report =
                            dead_letters::redrive(&sqs, &consumers, &queue, dry_run, &mut progress)
                                .await?;
                        total.found += report.found;
                        total.redriven += report.redriven;
                        total.kept += report.kept;
                    }
                }
            }
            if redrive.is_some() && several {
                println!(
                    "all queues: found {}, re-driven {}, kept {}",
                    total.found, total.redriven, total.kept
                );
            }
            Ok(total.kept == 0)
        }
    }
}
