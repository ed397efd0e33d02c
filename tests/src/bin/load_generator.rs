//! load-generator: places orders at a fixed rate through the API of a deployed stack (the local
//! one by default), follows each to its end on the bus, and reports how long POST to COMPLETED
//! took, how many orders went through, and how many were lost or got stuck.
//!
//!   load-generator [--rate 20] [--duration 60] [--deadline 180] [--markdown summary.md]
//!
//! Open loop: orders are sent on schedule whatever the answers take, as real clients would.
//! An order's end is its `OrderCompleted` (or `OrderCancelled`) on the bus, seen through a rule
//! of the generator's own; its latency is that event's `occurredAt` minus the moment the POST was
//! sent (the same clock, on one machine). After the last POST, stragglers get `--deadline`
//! seconds. Then each order without an end is looked up in the event store: there but not
//! finished is stuck, absent is lost.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use e2e::{World, unique_id};
use serde_json::json;

const USAGE: &str = "load-generator [--rate 20] [--duration 60] [--deadline 180] [--markdown summary.md]\n\nNeeds a deployed stack (scripts/local-up.sh).\n";

struct Options {
    rate: f64,
    duration: f64,
    deadline: f64,
    markdown: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        rate: 20.0,
        duration: 60.0,
        deadline: 180.0,
        markdown: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--rate" => options.rate = value().parse().expect("orders per second"),
            "--duration" => options.duration = value().parse().expect("seconds"),
            "--deadline" => options.deadline = value().parse().expect("seconds"),
            "--markdown" => options.markdown = Some(value()),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => panic!("unknown option {other}\n{USAGE}"),
        }
    }
    options
}

#[derive(Default)]
struct Tally {
    sent: usize,
    accepted: usize,
    refused: Vec<String>,
    /// Order id -> when its POST was sent.
    posted: HashMap<String, DateTime<Utc>>,
    /// Order id -> (its end, how long after the POST).
    ended: HashMap<String, (String, Duration)>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let options = options();
    let world = Arc::new(World::connect().await);
    let run = unique_id("load");
    let total = (options.rate * options.duration).round() as usize;
    let ends = world
        .bus_probe_matching(json!({
            "detail-type": ["OrderCompleted", "OrderCancelled"],
            "detail": {"data": {"orderId": [{"prefix": format!("{run}-")}]}}
        }))
        .await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    println!(
        "{total} orders at {} per second for {} s against {} (run {run})",
        options.rate, options.duration, world.stack.api
    );

    // The sender: one POST every 1/rate seconds, each on its own task.
    let sender = {
        let (world, tally, run) = (world.clone(), tally.clone(), run.clone());
        let period = Duration::from_secs_f64(1.0 / options.rate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut posts = Vec::with_capacity(total);
            for n in 0..total {
                tick.tick().await;
                let id = format!("{run}-{n:05}");
                let (world, tally) = (world.clone(), tally.clone());
                tally.lock().unwrap().sent += 1;
                posts.push(tokio::spawn(async move {
                    let posted = Utc::now();
                    let reply = world
                        .post(
                            "/orders",
                            &json!({"id": id, "amount": 10 + n % 90}).to_string(),
                        )
                        .await;
                    let mut tally = tally.lock().unwrap();
                    if reply.status == 202 {
                        tally.accepted += 1;
                        tally.posted.insert(id, posted);
                    } else {
                        tally
                            .refused
                            .push(format!("{id}: {} {}", reply.status, reply.body));
                    }
                }));
            }
            for post in posts {
                let _ = post.await;
            }
        })
    };

    // The receiver and the progress line, until every accepted order ended or time is up.
    let start = Instant::now();
    let load_ends = Duration::from_secs_f64(options.duration);
    let give_up = load_ends + Duration::from_secs_f64(options.deadline);
    let mut early: Vec<(String, String, DateTime<Utc>)> = Vec::new();
    let interactive = std::io::stdout().is_terminal();
    let mut next_report = Duration::ZERO;
    loop {
        for event in ends.poll().await {
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
            early.push((id, kind, at));
        }
        let (sent, accepted, ended) = {
            let mut tally = tally.lock().unwrap();
            // An end can arrive before its POST's answer was counted: match them up here.
            let mut waiting = Vec::new();
            for (id, kind, at) in early.drain(..) {
                match tally.posted.get(&id).copied() {
                    Some(posted) => {
                        let took = (at - posted).to_std().unwrap_or_default();
                        tally.ended.entry(id).or_insert((kind, took));
                    }
                    None => waiting.push((id, kind, at)),
                }
            }
            early = waiting;
            (tally.sent, tally.accepted, tally.ended.len())
        };
        let elapsed = start.elapsed();
        let progress = format!(
            "[{:>6.1} s] sent {sent:>5}/{total}  accepted {accepted:>5}  ended {ended:>5}  in flight {:>5}",
            elapsed.as_secs_f64(),
            accepted.saturating_sub(ended)
        );
        // A live line on a terminal; a line every 10 s in a log.
        if interactive {
            print!("\r{progress}   ");
            let _ = std::io::stdout().flush();
        } else if elapsed >= next_report {
            println!("{progress}");
            next_report += Duration::from_secs(10);
        }
        let all_sent = sender.is_finished();
        if (all_sent && ended >= accepted) || elapsed > give_up {
            break;
        }
    }
    println!();
    let _ = sender.await;
    ends.close().await;

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let mut latencies: Vec<Duration> = tally.ended.values().map(|(_, took)| *took).collect();
    latencies.sort();
    let cancelled = tally
        .ended
        .values()
        .filter(|(kind, _)| kind == "OrderCancelled")
        .count();
    let mut lost = Vec::new();
    let mut stuck = Vec::new();
    for id in tally
        .posted
        .keys()
        .filter(|id| !tally.ended.contains_key(*id))
    {
        let stored = world.stored_events(id).await;
        if stored.is_empty() {
            lost.push(id.clone());
        } else {
            stuck.push(format!("{id} ({} events)", stored.len()));
        }
    }
    let window = start.elapsed().as_secs_f64();
    let summary = format!(
        "| figure | value |\n| --- | --- |\n\
         | offered | {total} orders at {} per second for {} s |\n\
         | accepted (202) | {} |\n\
         | refused | {} |\n\
         | ended | {} ({} completed, {cancelled} cancelled) |\n\
         | lost (accepted, not in the event store) | {} |\n\
         | stuck (stored, no end within {} s after the load) | {} |\n\
         | POST to end: p50 / p95 / p99 / max | {} / {} / {} / {} |\n\
         | throughput (ended orders per second over {:.0} s) | {:.1} |\n",
        options.rate,
        options.duration,
        tally.accepted,
        tally.refused.len(),
        tally.ended.len(),
        tally.ended.len() - cancelled,
        lost.len(),
        options.deadline,
        stuck.len(),
        seconds(percentile(&latencies, 0.5)),
        seconds(percentile(&latencies, 0.95)),
        seconds(percentile(&latencies, 0.99)),
        seconds(latencies.last().copied().unwrap_or_default()),
        window,
        tally.ended.len() as f64 / window,
    );
    println!("\n{summary}");
    for refused in tally.refused.iter().take(5) {
        println!("refused: {refused}");
    }
    for id in stuck.iter().take(5) {
        println!("stuck: {id}");
    }
    if let Some(path) = &options.markdown {
        std::fs::write(path, &summary).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    if !lost.is_empty() {
        eprintln!("LOST: {lost:?}");
        std::process::exit(1);
    }
}
