use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use adapters::{DynamoDbEventStore, EventBridgePublisher};
use admin::archive::{ArchiveReplay, ReplayEnd, replay_from_archive};
use admin::dead_letters::{self, DeadLetterQueue, Queue, RedriveReport};
use admin::rebuild::{Target, rebuild_views};
use admin::replay::{Selection, replay};
use admin::{AdminError, Progress, Settings, pending, trace};
use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
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

// Each command's options are a type of their own, which runs the command: it builds the clients
// that command uses, and no others.
#[derive(Subcommand)]
enum Command {
    /// Rebuild every order view from the event store.
    RebuildViews(RebuildViews),
    /// Publish stored events to the bus again, marked as replayed; or, with --from-archive, send
    /// a window of the bus's archive (order and payment events) through the bus again.
    ///
    /// Consumers are idempotent, so a replayed event that was handled has no second effect: the
    /// payment ledger charges an order once, update-order decides from the order's history, and
    /// notification remembers each event it announced for as long as its idempotency records
    /// live (past that, replaying an old window sends its notifications again).
    Replay(Replay),
    /// List the events stored but not published after some time, and publish them.
    PublishPending(PublishPending),
    /// An order's journey: each step under the one that caused it, where it ran, what it did and
    /// how long it took, from the event store, the payment workflow's history and the logs.
    Trace(Trace),
    /// What the stack gave up on after its retries, parked in its dead-letter queues.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
}

#[derive(Args)]
struct RebuildViews {
    /// Into a new table of this name (created here), e.g. to compare it with the live one.
    #[arg(long, conflicts_with = "in_place")]
    into: Option<String>,
    /// Into the live views table: older views are replaced, newer ones kept.
    #[arg(long)]
    in_place: bool,
}

#[derive(Args)]
struct Replay {
    /// Every event of this order.
    #[arg(long, conflicts_with_all = ["from", "to", "stuck_for", "from_archive"])]
    order: Option<String>,
    /// Events that occurred from this time (RFC 3339) ...
    #[arg(long, requires = "to")]
    from: Option<DateTime<Utc>>,
    /// ... to this time (RFC 3339).
    #[arg(long, requires = "from")]
    to: Option<DateTime<Utc>>,
    /// The latest event of every order that has not ended and has not moved for this many
    /// seconds (its latest event reached the bus that long ago): starts its next step again.
    /// The recovery sweep does the same on a schedule, for orders stuck within the consumers'
    /// memory of what they handled (adapters::redelivery::IDEMPOTENCY_LIFETIME); this takes any.
    #[arg(long, conflicts_with_all = ["from", "to", "from_archive"])]
    stuck_for: Option<u64>,
    /// From the bus's archive instead of the event store: every event (the payment service's
    /// too) that reached the bus from --from to --to is sent through the bus again by
    /// EventBridge (StartReplay); prints the replay's name and follows it until it ends.
    #[arg(long, requires_all = ["from", "to"])]
    from_archive: bool,
    /// With --from-archive: start the replay and return, without following it.
    #[arg(long, requires = "from_archive")]
    no_wait: bool,
    /// List what would be replayed, publish nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct PublishPending {
    /// Only events older than this many seconds.
    #[arg(long, default_value_t = 60)]
    older_than: u64,
    /// List them, publish nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct Trace {
    /// The order, as the event store keys it (`<customer>.<id>`, as `replay --order` takes it).
    order: String,
    /// Print a mermaid sequence diagram instead of a tree.
    #[arg(long)]
    mermaid: bool,
}

#[derive(Subcommand)]
enum DeadLettersCommand {
    /// List the letters in each queue, leaving them there.
    List(ListDeadLetters),
    /// After a fix, hand each letter back to what it was meant for; delete it if that worked.
    Redrive(RedriveDeadLetters),
}

#[derive(Args)]
struct ListDeadLetters {
    /// Which queue.
    #[arg(long, value_enum, default_value_t = Queues::All)]
    queue: Queues,
}

#[derive(Args)]
struct RedriveDeadLetters {
    /// Which queue ("all" for the five, one after the other).
    #[arg(long, value_enum)]
    queue: Queues,
    /// Say what would be done, do nothing.
    #[arg(long)]
    dry_run: bool,
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
    let stack = Stack::connect(cli.settings()?).await;
    let mut progress = |line: String| println!("{line}");
    match cli.command {
        Command::RebuildViews(command) => command.run(&stack, &mut progress).await,
        Command::Replay(command) => command.run(&stack, &mut progress).await,
        Command::PublishPending(command) => command.run(&stack, &mut progress).await,
        Command::Trace(command) => command.run(&stack).await,
        Command::DeadLetters { command } => match command {
            DeadLettersCommand::List(command) => command.run(&stack, &mut progress).await,
            DeadLettersCommand::Redrive(command) => command.run(&stack, &mut progress).await,
        },
    }
}

impl Cli {
    /// The env file's settings (none if there is no file), with the options' overrides.
    fn settings(&self) -> Result<Settings, AdminError> {
        let mut settings = if self.env_file.exists() {
            Settings::from_env_file(&self.env_file)?
        } else {
            Settings::default()
        };
        if let Some(table) = &self.event_store_table {
            settings.event_store_table = table.clone();
        }
        if let Some(table) = &self.views_table {
            settings.views_table = table.clone();
        }
        if let Some(bus) = &self.event_bus {
            settings.event_bus = bus.clone();
        }
        settings.check()?;
        Ok(settings)
    }
}

/// The stack, checked, and the SDK configuration to reach it with.
struct Stack {
    settings: Settings,
    aws: SdkConfig,
}

impl Stack {
    async fn connect(settings: Settings) -> Stack {
        let aws = settings.aws().await;
        Stack { settings, aws }
    }

    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.aws)
    }

    /// The event store, through `dynamodb`: a command that also uses DynamoDB directly shares
    /// one client.
    fn events(&self, dynamodb: &aws_sdk_dynamodb::Client) -> DynamoDbEventStore {
        DynamoDbEventStore::new(dynamodb.clone(), &self.settings.event_store_table)
    }

    fn outbox(
        &self,
        events: &DynamoDbEventStore,
    ) -> Outbox<EventBridgePublisher, DynamoDbEventStore> {
        Outbox::new(self.bus(), events.clone())
    }

    fn bus(&self) -> EventBridgePublisher {
        EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(&self.aws),
            &self.settings.event_bus,
        )
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.aws)
    }

    /// The chosen queues whose URLs the settings know, one at a time; each of the others is
    /// said to be skipped when its turn comes.
    fn dead_letter_queues(&self, queues: Vec<Queue>) -> impl Iterator<Item = DeadLetterQueue> {
        queues.into_iter().filter_map(|queue| {
            let known = self.settings.dead_letter_queue(queue);
            if known.is_none() {
                println!("{queue}: no queue URL in the settings, skipped");
            }
            known
        })
    }
}

impl RebuildViews {
    async fn run(self, stack: &Stack, progress: Progress<'_>) -> Result<bool, AdminError> {
        let target = match (self.into, self.in_place) {
            (Some(table), false) => Target::Fresh(table),
            (None, true) => Target::Existing(stack.settings.views_table.clone()),
            _ => {
                return Err(AdminError::Invalid(
                    "say where: --into <new table> or --in-place".into(),
                ));
            }
        };
        let dynamodb = stack.dynamodb();
        let events = stack.events(&dynamodb);
        let report = rebuild_views(&dynamodb, &events, &target, progress).await?;
        println!(
            "rebuilt {} views of {} orders from {} events ({} already current)",
            report.written, report.orders, report.events, report.kept
        );
        Ok(report.failed.is_empty())
    }
}

impl Replay {
    async fn run(self, stack: &Stack, progress: Progress<'_>) -> Result<bool, AdminError> {
        if self.from_archive {
            return self.run_from_archive(stack, progress).await;
        }
        let selection = match (self.order, self.from, self.to, self.stuck_for) {
            (Some(order), None, None, None) => Selection::Order(order),
            (None, Some(from), Some(to), None) => Selection::Between(from, to),
            (None, None, None, Some(seconds)) => Selection::Stuck {
                since: Utc::now() - Duration::from_secs(seconds),
                not_before: None,
            },
            _ => {
                return Err(AdminError::Invalid(
                    "say what: --order <id>, --from and --to, or --stuck-for <seconds>".into(),
                ));
            }
        };
        let events = stack.events(&stack.dynamodb());
        let report = replay(&events, &stack.bus(), &selection, self.dry_run, progress).await?;
        Ok(report.failed.is_empty())
    }
}

impl Replay {
    /// How often a followed replay is looked at.
    const FOLLOW_EVERY: Duration = Duration::from_secs(5);

    async fn run_from_archive(
        self,
        stack: &Stack,
        progress: Progress<'_>,
    ) -> Result<bool, AdminError> {
        let (Some(from), Some(to)) = (self.from, self.to) else {
            return Err(AdminError::Invalid(
                "--from-archive needs --from and --to".into(),
            ));
        };
        let settings = &stack.settings;
        for (name, value) in [
            ("EVENT_ARCHIVE_ARN", &settings.event_archive_arn),
            ("EVENT_BUS_ARN", &settings.event_bus_arn),
        ] {
            if value.is_empty() {
                return Err(AdminError::Invalid(format!(
                    "no {name} in the env file: deploy the stack again to write its outputs \
                     (LocalStack's community edition makes no archive)"
                )));
            }
        }
        let replay = ArchiveReplay {
            name: ArchiveReplay::named_at(Utc::now()),
            archive_arn: settings.event_archive_arn.clone(),
            bus_arn: settings.event_bus_arn.clone(),
            from,
            to,
        };
        let client = aws_sdk_eventbridge::Client::new(&stack.aws);
        let follow = (!self.no_wait).then_some(Self::FOLLOW_EVERY);
        let end = replay_from_archive(&client, &replay, follow, self.dry_run, progress).await?;
        Ok(matches!(end, ReplayEnd::Started | ReplayEnd::Completed))
    }
}

impl PublishPending {
    async fn run(self, stack: &Stack, progress: Progress<'_>) -> Result<bool, AdminError> {
        let events = stack.events(&stack.dynamodb());
        let outbox = stack.outbox(&events);
        let older_than = Duration::from_secs(self.older_than);
        let report =
            pending::publish_pending(&events, &outbox, older_than, self.dry_run, progress).await?;
        Ok(report.failed == 0)
    }
}

impl Trace {
    async fn run(self, stack: &Stack) -> Result<bool, AdminError> {
        let dynamodb = stack.dynamodb();
        let sources = trace::Sources {
            events: &stack.events(&dynamodb),
            logs: &aws_sdk_cloudwatchlogs::Client::new(&stack.aws),
            lambda: &aws_sdk_lambda::Client::new(&stack.aws),
            payment_workflow_log_group: &stack.settings.payment_workflow_log_group,
            catch_all_log_group: &stack.settings.catch_all_log_group,
            functions: &stack.settings.functions,
        };
        let journey = trace::trace(&sources, &self.order).await?;
        if self.mermaid {
            print!("{}", journey.mermaid());
        } else {
            print!("{}", journey.tree());
        }
        Ok(true)
    }
}

impl ListDeadLetters {
    async fn run(self, stack: &Stack, progress: Progress<'_>) -> Result<bool, AdminError> {
        let sqs = stack.sqs();
        for queue in stack.dead_letter_queues(self.queue.selected()) {
            dead_letters::list(&sqs, &queue, progress).await?;
        }
        Ok(true)
    }
}

impl RedriveDeadLetters {
    /// Re-drives the letters of each queue; of several, says the total too.
    async fn run(self, stack: &Stack, progress: Progress<'_>) -> Result<bool, AdminError> {
        let queues = self.queue.selected();
        let several = queues.len() > 1;
        let sqs = stack.sqs();
        let lambda = aws_sdk_lambda::Client::new(&stack.aws);
        let sfn = aws_sdk_sfn::Client::new(&stack.aws);
        let dynamodb = stack.dynamodb();
        let events = stack.events(&dynamodb);
        let outbox = stack.outbox(&events);
        let consumers = stack
            .settings
            .consumers(&lambda, &sfn, &dynamodb, &events, &outbox);
        let mut total = RedriveReport::default();
        for queue in stack.dead_letter_queues(queues) {
            let report =
                dead_letters::redrive(&sqs, &consumers, &queue, self.dry_run, progress).await?;
            total.found += report.found;
            total.redriven += report.redriven;
            total.kept += report.kept;
        }
        if several {
            println!(
                "all queues: found {}, re-driven {}, kept {}",
                total.found, total.redriven, total.kept
            );
        }
        Ok(total.kept == 0)
    }
}
