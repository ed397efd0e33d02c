//! load-generator: places orders at a fixed rate through the API of a deployed stack (the local
//! one by default), follows each to its end on the bus, and reports how long POST to COMPLETED
//! took, how many orders went through, and how many were lost or got stuck.
//!
//!   load-generator [--rate 20] [--duration 60] [--deadline 180] [--retries 6] [--quiet 5]
//!                  [--customers 4] [--markdown summary.md] [--json figures.json]
//!
//! Open loop: orders are sent on schedule whatever the answers take, as real clients would.
//! The orders are placed by `--customers` signed-in customers in turn (`load-customer-1`, ...),
//! each signed in once (`scripts/token.sh`) before the first POST; an order is known by its key
//! in its customer's scope (`load-customer-1.load-...-00000`).
//! Like a well-behaved client (and the AWS SDKs), each POST answered "try again" (429, 5xx) or not
//! answered at all is sent again, up to `--retries` times, after a backoff with full jitter (1, 2,
//! 4, ... s, at most 20): safe, because placing an order is idempotent by its id. An order's
//! latency still counts from its first POST.
//! An order's end is its `OrderCompleted` (or `OrderCancelled`) on the bus, seen through a rule
//! of the generator's own; its latency is that event's `occurredAt` minus the moment the POST was
//! sent (the same clock, on one machine). After the last POST, stragglers get `--deadline`
//! seconds. Then each order without an end is looked up in the event store: there but not
//! finished is stuck, absent is lost.
//!
//! A POST that gets no answer after its retries (connection refused, or none within 30 s) is
//! counted: once every POST is out, such orders are looked up in the event store, and those found
//! there were accepted all the same and are followed like the others.
//!
//! After the last end it keeps listening for `--quiet` seconds, so that an order that ends twice
//! is seen. It exits non-zero, after its report, when the run broke a promise of the system:
//! an order lost, stuck, refused (after the retries), unanswered and not stored, cancelled (every
//! amount is under the fraud threshold and no customer is in an outage, so none should be), or
//! ended more than once; or when a POST task panicked.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Parser;
use e2e::{World, unique_id};
use serde_json::json;

/// Places orders at a fixed rate through the API of a deployed stack, follows each to its end on
/// the bus, and reports how long POST to end took and whether any order was lost or got stuck.
#[derive(Parser)]
#[command(
    name = "load-generator",
    // A flag given twice counts the last time, as a script that appends an override expects.
    args_override_self = true,
    after_help = "Needs a deployed stack (scripts/local-up.sh). Exits 1 if an order was lost, stuck, refused,\nunanswered and not stored, cancelled or ended twice."
)]
struct Options {
    /// Orders placed per second, spread evenly (fractions allowed; above 0).
    #[arg(long, value_name = "ORDERS_PER_S", default_value_t = 20.0, value_parser = rate)]
    rate: f64,
    /// How long orders are placed, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = seconds_arg)]
    duration: f64,
    /// Seconds the orders still on their way get after the last POST to reach their end.
    #[arg(long, value_name = "SECONDS", default_value_t = 180.0, value_parser = seconds_arg)]
    deadline: f64,
    /// How many times a POST answered 429 or 5xx, or not answered, is sent again.
    #[arg(long, value_name = "COUNT", default_value_t = 6)]
    retries: u32,
    /// Seconds to keep listening after the last end, for an order that ends twice.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = seconds_arg)]
    quiet: f64,
    /// How many signed-in customers take turns placing the orders (at least 1).
    #[arg(long, value_name = "COUNT", default_value = "4")]
    customers: NonZeroUsize,
    /// Also write the summary to this Markdown file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<String>,
    /// Also write the figures to this file, as JSON (for scripts that compare runs).
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
}

/// A number of seconds: 0 or more, and a duration the run can wait.
fn seconds_arg(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(value)
        .map(|_| value)
        .map_err(|_| "not a number of seconds (0 or more)".to_owned())
}

/// Orders per second: a finite number above 0, so that the time between two orders is a
/// duration.
fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err("not a rate in orders per second (above 0)".to_owned())
    }
}

#[derive(Default)]
struct Tally {
    /// Order key -> when its POST was sent (every order sent).
    sent_at: HashMap<String, DateTime<Utc>>,
    /// Answered 202.
    accepted: HashSet<String>,
    /// Orders whose POST had to be sent again (throttled, failed or unanswered at first).
    retried: usize,
    /// POSTs sent again, in all.
    retries: usize,
    /// Answered with another status.
    refused: Vec<String>,
    /// Order key -> why no answer came.
    unanswered: HashMap<String, String>,
    /// Of the unanswered, those found in the event store: accepted, the answer lost.
    stored_unanswered: HashSet<String>,
    /// Order key -> (its first end, how long after the POST).
    ended: HashMap<String, (String, Duration)>,
    /// Order key -> how many ends reached the bus: more than one is an order ended twice.
    ends_seen: HashMap<String, usize>,
    /// POST tasks that panicked: their order's fate is unknown.
    panicked: usize,
}

impl Tally {
    /// The orders the system took: answered 202, or stored although the answer was lost.
    fn taken(&self) -> usize {
        self.accepted.len() + self.stored_unanswered.len()
    }

    /// An end (`OrderCompleted` or `OrderCancelled`) seen on the bus at `at`.
    fn record_end(&mut self, id: String, kind: String, at: DateTime<Utc>) {
        // Every order's send time is known before its POST goes out.
        let Some(sent_at) = self.sent_at.get(&id).copied() else {
            return;
        };
        *self.ends_seen.entry(id.clone()).or_default() += 1;
        let took = (at - sent_at).to_std().unwrap_or_default();
        self.ended.entry(id).or_insert((kind, took));
    }
}

/// An end on the bus: the order's key, the event type and when it occurred.
fn read_end(event: &serde_json::Value) -> (String, String, DateTime<Utc>) {
    let id = event["detail"]["data"]["orderId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let kind = event["detail-type"].as_str().unwrap_or_default().to_owned();
    let at = event["detail"]["metadata"]["occurredAt"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    (id, kind, at)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The wait before retry number `retry` (from 1): exponential backoff from 1 s up to 20 s, with
/// full jitter so that a burst of throttled clients does not come back as a burst.
fn backoff(retry: u32) -> Duration {
    let ceiling_ms = (1000u64 << (retry - 1).min(5)).min(20_000);
    Duration::from_millis((uuid::Uuid::new_v4().as_u128() % u128::from(ceiling_ms + 1)) as u64)
}

/// Whether an answer means "not now, try again" rather than a verdict on the order.
fn worth_retrying(status: u16) -> bool {
    status == 429 || status >= 500
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let options = Options::parse();
    let world = Arc::new(World::connect().await);
    let run = unique_id("load");
    let total = (options.rate * options.duration).round() as usize;
    // Signed in once each, before the load: a token per customer, not per request.
    let customers: Arc<Vec<(String, String)>> = Arc::new(
        (1..=options.customers.get())
            .map(|n| {
                let customer = world.customer(&format!("load-customer-{n}"));
                let (_, authorization) = customer.authorization();
                (customer.order_key(format!("{run}-")), authorization)
            })
            .collect(),
    );
    // Each customer's orders: their keys begin with the customer's scope, then the run.
    let prefixes: Vec<serde_json::Value> = customers
        .iter()
        .map(|(prefix, _)| json!({"prefix": prefix}))
        .collect();
    let ends = world
        .bus_probe_matching(json!({
            "detail-type": ["OrderCompleted", "OrderCancelled"],
            "detail": {"data": {"orderId": prefixes}}
        }))
        .await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    println!(
        "{total} orders at {} per second for {} s by {} customers against {} (run {run})",
        options.rate, options.duration, options.customers, world.stack.api
    );

    // The sender: one POST every 1/rate seconds, each on its own task.
    let sender = {
        let (world, tally, run) = (world.clone(), tally.clone(), run.clone());
        let customers = customers.clone();
        let period = Duration::from_secs_f64(1.0 / options.rate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut posts = Vec::with_capacity(total);
            for n in 0..total {
                tick.tick().await;
                let id = format!("{run}-{n:05}");
                // The customers take turns; the order is known by its key in its customer's
                // scope, from the start (`{customer}.{run}-` followed by the number).
                let (scope, authorization) = customers[n % customers.len()].clone();
                let key = format!("{scope}{n:05}");
                let (world, tally) = (world.clone(), tally.clone());
                tally
                    .lock()
                    .unwrap()
                    .sent_at
                    .insert(key.clone(), Utc::now());
                let retries = options.retries;
                posts.push(tokio::spawn(async move {
                    let body = json!({"id": id, "amount": 10 + n % 90}).to_string();
                    let headers = [("authorization", authorization.as_str())];
                    let mut reply = world
                        .try_request("POST", "/orders", Some(&body), &headers)
                        .await;
                    for retry in 1..=retries {
                        match &reply {
                            Ok(answer) if !worth_retrying(answer.status) => break,
                            _ => {}
                        }
                        {
                            let mut tally = tally.lock().unwrap();
                            tally.retries += 1;
                            tally.retried += usize::from(retry == 1);
                        }
                        tokio::time::sleep(backoff(retry)).await;
                        reply = world
                            .try_request("POST", "/orders", Some(&body), &headers)
                            .await;
                    }
                    let mut tally = tally.lock().unwrap();
                    match reply {
                        // Accepted as the order the generator follows, under that key.
                        Ok(reply) if reply.status == 202 && reply.body["id"] == key.as_str() => {
                            tally.accepted.insert(key);
                        }
                        Ok(reply) => tally
                            .refused
                            .push(format!("{key}: {} {}", reply.status, reply.body)),
                        Err(error) => {
                            tally.unanswered.insert(key, error);
                        }
                    }
                }));
            }
            for post in posts {
                if post.await.is_err() {
                    tally.lock().unwrap().panicked += 1;
                }
            }
        })
    };

    // The receiver and the progress line, until every accepted order ended or time is up.
    let start = Instant::now();
    let load_ends = Duration::from_secs_f64(options.duration);
    let give_up = load_ends + Duration::from_secs_f64(options.deadline);
    let interactive = std::io::stdout().is_terminal();
    let mut next_report = Duration::ZERO;
    let mut unanswered_resolved = false;
    loop {
        let arrived: Vec<_> = ends.poll().await.iter().map(read_end).collect();
        let all_sent = sender.is_finished();
        if all_sent && !unanswered_resolved {
            // Every POST has its answer or its failure: were the unanswered ones taken anyway?
            let unanswered: Vec<String> =
                tally.lock().unwrap().unanswered.keys().cloned().collect();
            for id in unanswered {
                if !world.stored_events(&id).await.is_empty() {
                    tally.lock().unwrap().stored_unanswered.insert(id);
                }
            }
            unanswered_resolved = true;
        }
        let (sent, taken, unanswered, ended) = {
            let mut tally = tally.lock().unwrap();
            for (id, kind, at) in arrived {
                tally.record_end(id, kind, at);
            }
            (
                tally.sent_at.len(),
                tally.taken(),
                tally.unanswered.len(),
                tally.ended.len(),
            )
        };
        let elapsed = start.elapsed();
        let progress = format!(
            "[{:>6.1} s] sent {sent:>5}/{total}  accepted {taken:>5}  no answer {unanswered:>4}  ended {ended:>5}  in flight {:>5}",
            elapsed.as_secs_f64(),
            taken.saturating_sub(ended)
        );
        // A live line on a terminal; a line every 10 s in a log.
        if interactive {
            print!("\r{progress}   ");
            let _ = std::io::stdout().flush();
        } else if elapsed >= next_report {
            println!("{progress}");
            next_report += Duration::from_secs(10);
        }
        if (unanswered_resolved && ended >= taken) || elapsed > give_up {
            break;
        }
    }
    println!();
    if sender.await.is_err() {
        tally.lock().unwrap().panicked += 1;
    }
    // A second end for an order comes after its first: listen a little longer for one.
    let quiet = Duration::from_secs_f64(options.quiet);
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        let arrived = ends.poll().await;
        if !arrived.is_empty() {
            last = Instant::now();
        }
        let mut tally = tally.lock().unwrap();
        for (id, kind, at) in arrived.iter().map(read_end) {
            tally.record_end(id, kind, at);
        }
    }
    ends.close().await;

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let mut latencies: Vec<Duration> = tally.ended.values().map(|(_, took)| *took).collect();
    latencies.sort();
    let mut cancelled_orders: Vec<&String> = tally
        .ended
        .iter()
        .filter(|(_, (kind, _))| kind == "OrderCancelled")
        .map(|(id, _)| id)
        .collect();
    cancelled_orders.sort();
    let cancelled = cancelled_orders.len();
    let mut twice: Vec<String> = tally
        .ends_seen
        .iter()
        .filter(|(_, seen)| **seen > 1)
        .map(|(id, seen)| format!("{id} ({seen} ends)"))
        .collect();
    twice.sort();
    let mut unanswered_not_stored: Vec<&String> = tally
        .unanswered
        .keys()
        .filter(|id| !tally.stored_unanswered.contains(*id))
        .collect();
    unanswered_not_stored.sort();
    let mut lost = Vec::new();
    let mut stuck = Vec::new();
    let taken = tally.accepted.iter().chain(&tally.stored_unanswered);
    for id in taken.filter(|id| !tally.ended.contains_key(*id)) {
        let stored = world.stored_events(id).await;
        if stored.is_empty() {
            lost.push(id.clone());
        } else {
            stuck.push(format!("{id} ({} events)", stored.len()));
        }
    }
    lost.sort();
    stuck.sort();
    // From the first POST to the last end: the rate at which the flow really finished orders.
    let first_sent = tally.sent_at.values().min().copied();
    let last_end = tally
        .ended
        .iter()
        .filter_map(|(id, (_, took))| {
            Some(*tally.sent_at.get(id)? + chrono::Duration::from_std(*took).ok()?)
        })
        .max();
    let busy = match (first_sent, last_end) {
        (Some(first), Some(last)) => (last - first).to_std().unwrap_or_default().as_secs_f64(),
        _ => 0.0,
    };
    let throughput = if busy > 0.0 {
        tally.ended.len() as f64 / busy
    } else {
        0.0
    };
    let summary = format!(
        "| figure | value |\n| --- | --- |\n\
         | offered | {total} orders at {} per second for {} s |\n\
         | accepted (202) | {} |\n\
         | POSTs sent again (429, 5xx or no answer at first) | {} orders, {} POSTs in all |\n\
         | refused (another status, or still 429/5xx after the retries) | {} |\n\
         | no answer after the retries (connection refused or 30 s timeout) | {} ({} of them stored all the same) |\n\
         | ended | {} ({} completed, {cancelled} cancelled) |\n\
         | ended more than once | {} |\n\
         | lost (accepted, not in the event store) | {} |\n\
         | stuck (stored, no end within {} s after the load) | {} |\n\
         | POST to end: p50 / p95 / p99 / max | {} / {} / {} / {} |\n\
         | throughput (ended orders per second, first POST to last end: {:.0} s) | {:.1} |\n",
        options.rate,
        options.duration,
        tally.accepted.len(),
        tally.retried,
        tally.retries,
        tally.refused.len(),
        tally.unanswered.len(),
        tally.stored_unanswered.len(),
        tally.ended.len(),
        tally.ended.len() - cancelled,
        twice.len(),
        lost.len(),
        options.deadline,
        stuck.len(),
        seconds(percentile(&latencies, 0.5)),
        seconds(percentile(&latencies, 0.95)),
        seconds(percentile(&latencies, 0.99)),
        seconds(latencies.last().copied().unwrap_or_default()),
        busy,
        throughput,
    );
    println!("\n{summary}");
    for (id, error) in tally.unanswered.iter().take(5) {
        println!("no answer: {id}: {error}");
    }
    let broken = broken_promises(&[
        ("lost (accepted, not in the event store)", list(&lost)),
        ("stuck (stored, no end)", list(&stuck)),
        ("refused", list(&tally.refused)),
        ("unanswered and not stored", list(&unanswered_not_stored)),
        ("cancelled, none should be", list(&cancelled_orders)),
        ("ended more than once", list(&twice)),
        (
            "POST tasks panicked",
            (tally.panicked > 0).then(|| tally.panicked.to_string()),
        ),
    ]);
    let summary = match &broken {
        Some(lines) => format!("{summary}\n**Broken promises:**\n\n{lines}"),
        None => summary,
    };
    if let Some(path) = &options.markdown {
        std::fs::write(path, &summary).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    if let Some(path) = &options.json {
        let figures = json!({
            "rate": options.rate,
            "duration": options.duration,
            "offered": total,
            "accepted": tally.accepted.len(),
            "ended": tally.ended.len(),
            "cancelled": cancelled,
            "lost": lost.len(),
            "stuck": stuck.len(),
            "refused": tally.refused.len(),
            "ended_twice": twice.len(),
            "post_to_end_seconds": {
                "p50": percentile(&latencies, 0.5).as_secs_f64(),
                "p95": percentile(&latencies, 0.95).as_secs_f64(),
                "p99": percentile(&latencies, 0.99).as_secs_f64(),
                "max": latencies.last().copied().unwrap_or_default().as_secs_f64(),
            },
            "throughput": throughput,
            "broken_promises": broken.is_some(),
        });
        std::fs::write(path, format!("{figures:#}\n")).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    if let Some(lines) = broken {
        eprintln!("FAILED: the run broke a promise of the system:\n{lines}");
        std::process::exit(1);
    }
}

/// A few of `items`, with how many there are; `None` for none.
fn list<T: std::fmt::Display>(items: &[T]) -> Option<String> {
    let shown: Vec<String> = items.iter().take(5).map(ToString::to_string).collect();
    (!items.is_empty()).then(|| {
        let more = items.len() - shown.len();
        let tail = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        format!("{}: {}{tail}", items.len(), shown.join(", "))
    })
}

/// One Markdown list line per promise the run broke, or `None` if it kept them all.
fn broken_promises(checks: &[(&str, Option<String>)]) -> Option<String> {
    let lines: Vec<String> = checks
        .iter()
        .filter_map(|(what, found)| found.as_ref().map(|found| format!("- {what}: {found}")))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::try_parse_from(["load-generator"].iter().chain(args))
    }

    #[test]
    fn the_options_are_consistent() {
        use clap::CommandFactory;
        Options::command().debug_assert();
    }

    #[test]
    fn the_options_default_to_a_minute_at_20_orders_per_second_by_4_customers() {
        let options = parse(&[]).unwrap();
        assert_eq!(
            (
                options.rate,
                options.duration,
                options.deadline,
                options.quiet
            ),
            (20.0, 60.0, 180.0, 5.0)
        );
        assert_eq!((options.retries, options.customers.get()), (6, 4));
        assert_eq!((options.markdown, options.json), (None, None));
    }

    #[test]
    fn the_options_take_what_bench_sh_passes() {
        let options = parse(&[
            "--rate",
            "4",
            "--duration",
            "60",
            "--deadline",
            "180",
            "--markdown",
            "out.md",
            "--json",
            "out.json",
            "--customers",
            "2",
            "--rate",
            "5",
        ])
        .unwrap();
        assert_eq!((options.rate, options.customers.get()), (5.0, 2));
        assert_eq!(options.markdown.as_deref(), Some("out.md"));
        assert_eq!(options.json.as_deref(), Some("out.json"));
    }

    #[test]
    fn orders_need_a_customer_to_place_them() {
        assert!(parse(&["--customers", "0"]).is_err());
    }

    #[test]
    fn a_missing_or_bad_value_is_a_usage_error() {
        e2e::assert_usage_errors::<Options>(&[
            &["--rate"][..],
            &["--json"],
            &["--duration", "a minute"],
            &["--retries", "-1"],
            &["--rate", "0"],
            &["--rate=-2"],
            &["--rate", "inf"],
            &["--deadline=-1"],
            &["--quiet", "NaN"],
        ]);
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn end(id: &str, kind: &str, seconds: i64) -> serde_json::Value {
        json!({"detail-type": kind, "detail": {
            "data": {"orderId": id},
            "metadata": {"occurredAt": at(seconds).to_rfc3339()},
        }})
    }

    #[test]
    fn an_end_counts_from_its_orders_first_post() {
        let mut tally = Tally::default();
        tally.sent_at.insert("o-1".into(), at(0));
        let (id, kind, when) = read_end(&end("o-1", "OrderCompleted", 3));
        tally.record_end(id, kind, when);
        assert_eq!(
            tally.ended["o-1"],
            ("OrderCompleted".into(), Duration::from_secs(3))
        );
    }

    #[test]
    fn a_second_end_of_one_order_is_counted_not_lost_in_the_first() {
        let mut tally = Tally::default();
        tally.sent_at.insert("o-1".into(), at(0));
        for (kind, seconds) in [("OrderCompleted", 3), ("OrderCancelled", 4)] {
            let (id, kind, when) = read_end(&end("o-1", kind, seconds));
            tally.record_end(id, kind, when);
        }
        assert_eq!(tally.ends_seen["o-1"], 2);
        assert_eq!(
            tally.ended["o-1"].0, "OrderCompleted",
            "the first end is kept"
        );
    }

    #[test]
    fn an_end_of_an_order_this_run_did_not_send_is_ignored() {
        let mut tally = Tally::default();
        let (id, kind, when) = read_end(&end("someone-else", "OrderCompleted", 3));
        tally.record_end(id, kind, when);
        assert!(tally.ended.is_empty() && tally.ends_seen.is_empty());
    }

    #[test]
    fn a_run_that_kept_every_promise_breaks_none() {
        assert_eq!(broken_promises(&[("lost", None), ("stuck", None)]), None);
    }

    #[test]
    fn each_broken_promise_is_one_line_with_a_few_of_its_orders() {
        let stuck: Vec<String> = (1..=7).map(|n| format!("o-{n}")).collect();
        let lines = broken_promises(&[
            ("lost", None),
            ("stuck", list(&stuck)),
            ("cancelled", list(&["o-9"])),
        ])
        .unwrap();
        assert_eq!(
            lines,
            "- stuck: 7: o-1, o-2, o-3, o-4, o-5, and 2 more\n- cancelled: 1: o-9\n"
        );
    }
}
