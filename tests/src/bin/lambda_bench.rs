//! lambda-bench: each function's real `bootstrap`, run as Lambda runs it, against a minimal
//! Runtime API on loopback: its init time (process start to its first request for an event),
//! the time of warm invocations doing real work against the local stack, and its peak memory.
//!
//!   lambda-bench [--artifacts target/lambda] [--functions a,b] [--baseline path/to/bootstrap]
//!                [--cold-starts 20] [--invocations 1000] [--markdown table.md]
//!
//! The functions get the environment they have in the deployed stack (read from it), pointed at
//! the local stack, so every warm invocation does what it does in production: create-order
//! checks a customer's token (signed in once, `scripts/token.sh`) and stores a new order, payment
//! charges a new one, update-order and notification handle a new payment event, the outbox and
//! the projection handle a stream record again. (create-order fetches its issuer's signing keys
//! as it starts: its init time includes that request.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use e2e::{DEFAULT_CUSTOMER, World, unique_id};
use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server};

/// Each function's real `bootstrap`, run as Lambda runs it against a Runtime API on loopback:
/// its init time, warm invocations against the local stack, and its peak memory.
#[derive(Parser)]
#[command(
    name = "lambda-bench",
    // A flag given twice counts the last time, as a script that appends an override expects.
    args_override_self = true,
    after_help = "Needs the local stack up and the functions built (scripts/build.sh --release --with-baseline)."
)]
struct Options {
    /// Where the functions were built: each one's bootstrap is <DIR>/<function>/bootstrap.
    #[arg(long, value_name = "DIR", default_value = "target/lambda")]
    artifacts: PathBuf,
    /// The functions to measure, comma-separated (their names in the stack, without its prefix).
    // `Set`: a second --functions replaces the list, as any other flag given twice does.
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        action = clap::ArgAction::Set,
        default_value = "create-order,outbox-processor,projection,payment,update-order,notification"
    )]
    functions: Vec<String>,
    /// A bootstrap measured first (a bare "hello world" function), whose init time each
    /// function's is compared with.
    #[arg(long, value_name = "BOOTSTRAP")]
    baseline: Option<PathBuf>,
    /// Cold starts per function (processes started until they ask for an event), at least 1.
    #[arg(long, value_name = "COUNT", default_value = "20")]
    cold_starts: NonZeroUsize,
    /// Warm invocations per function (events handed to one running process), at least 1.
    #[arg(long, value_name = "COUNT", default_value = "1000")]
    invocations: NonZeroUsize,
    /// Also write the table to this Markdown file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

/// The Runtime API on a loopback port: one function process at a time talks to it.
struct RuntimeApi {
    server: Server,
    address: SocketAddr,
}

enum Call {
    /// GET .../invocation/next: the process is ready for an event.
    Next(Request),
    /// POST .../invocation/{id}/response or /error.
    Result {
        request: Request,
        error: bool,
        body: String,
    },
}

impl RuntimeApi {
    fn start() -> RuntimeApi {
        let server = Server::http("127.0.0.1:0").expect("a loopback port");
        let address = server.server_addr().to_ip().expect("an IP address");
        RuntimeApi { server, address }
    }

    fn next_call(&self, timeout: Duration) -> Option<Call> {
        let mut request = self.server.recv_timeout(timeout).expect("runtime API")?;
        let url = request.url().to_owned();
        if url.ends_with("/invocation/next") {
            return Some(Call::Next(request));
        }
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        if url.contains("/init/error") {
            panic!("the function failed to start: {body}");
        }
        Some(Call::Result {
            request,
            error: url.ends_with("/error"),
            body,
        })
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn send_event(request: Request, id: &str, function: &str, event: &Value) {
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let response = Response::from_string(event.to_string())
        .with_header(header("Content-Type", "application/json"))
        .with_header(header("Lambda-Runtime-Aws-Request-Id", id))
        .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline.to_string()))
        .with_header(header(
            "Lambda-Runtime-Invoked-Function-Arn",
            &format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
        ))
        .with_header(header(
            "Lambda-Runtime-Trace-Id",
            "Root=1-00000000-000000000000000000000000",
        ));
    request.respond(response).expect("hand out an event");
}

/// Starts a bootstrap as Lambda would, with `environment` and the Runtime API's address.
fn spawn(
    bootstrap: &Path,
    api: &RuntimeApi,
    function: &str,
    environment: &HashMap<String, String>,
) -> Child {
    let mut command = Command::new(bootstrap);
    command
        .env_clear()
        .envs(environment)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bootstrap.display()))
}

fn peak_rss_kib(child: &Child) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Init times of `runs` cold starts: process start to its first request for an event.
fn cold_starts(
    bootstrap: &Path,
    function: &str,
    environment: &HashMap<String, String>,
    runs: usize,
) -> Vec<Duration> {
    let api = RuntimeApi::start();
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let mut child = spawn(bootstrap, &api, function, environment);
            let ready = match api.next_call(Duration::from_secs(10)) {
                Some(Call::Next(_)) => start.elapsed(),
                _ => panic!("{function} did not ask for an event"),
            };
            let _ = child.kill();
            let _ = child.wait();
            ready
        })
        .collect()
}

/// Warm invocations: each event handed out and answered in turn. Returns the durations and the
/// process's peak memory.
fn warm_invocations(
    bootstrap: &Path,
    function: &str,
    environment: &HashMap<String, String>,
    events: &mut dyn FnMut(usize) -> Value,
    count: usize,
) -> (Vec<Duration>, u64, usize) {
    let api = RuntimeApi::start();
    let mut child = spawn(bootstrap, &api, function, environment);
    let mut durations = Vec::with_capacity(count);
    let mut errors = 0;
    let mut pending = match api.next_call(Duration::from_secs(10)) {
        Some(Call::Next(request)) => request,
        _ => panic!("{function} did not start"),
    };
    for n in 0..count {
        let start = Instant::now();
        send_event(pending, &format!("bench-{n}"), function, &events(n));
        loop {
            match api
                .next_call(Duration::from_secs(30))
                .unwrap_or_else(|| panic!("{function} hung"))
            {
                Call::Result {
                    request,
                    error,
                    body,
                } => {
                    durations.push(start.elapsed());
                    if error || refused(&body) {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("  {function}: first error: {body}");
                        }
                    }
                    let _ = request.respond(
                        Response::from_string("{\"status\":\"OK\"}").with_status_code(202),
                    );
                }
                Call::Next(request) => {
                    pending = request;
                    break;
                }
            }
        }
    }
    let peak = peak_rss_kib(&child);
    let _ = child.kill();
    let _ = child.wait();
    (durations, peak, errors)
}

/// Whether a function's answer is an HTTP error (create-order's answers are API Gateway proxy
/// responses): a request the API refused, a token it did not take among them, did not do the
/// work it was to measure.
fn refused(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|answer| answer["statusCode"].as_u64())
        .is_some_and(|status| status >= 400)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

struct Row {
    function: String,
    init_median: Duration,
    init_worst: Duration,
    warm_p50: Duration,
    warm_p99: Duration,
    peak_mib: f64,
    errors: usize,
}

/// Cold starts, then warm invocations with `events`: one row of the table.
fn measure(
    name: &str,
    bootstrap: &Path,
    function: &str,
    environment: &HashMap<String, String>,
    events: &mut dyn FnMut(usize) -> Value,
    options: &Options,
) -> Row {
    eprintln!(
        "{name}: {} cold starts, {} warm invocations",
        options.cold_starts, options.invocations
    );
    let mut inits = cold_starts(bootstrap, function, environment, options.cold_starts.get());
    inits.sort();
    let (mut warm, peak, errors) = warm_invocations(
        bootstrap,
        function,
        environment,
        events,
        options.invocations.get(),
    );
    warm.sort();
    Row {
        function: name.to_owned(),
        init_median: inits[inits.len() / 2],
        init_worst: *inits.last().expect("at least one cold start"),
        warm_p50: percentile(&warm, 0.5),
        warm_p99: percentile(&warm, 0.99),
        peak_mib: peak as f64 / 1024.0,
        errors,
    }
}

/// A table with `source`'s keys and indexes but no stream: create-order's benchmark orders go
/// there, so that a thousand of them do not set the whole flow going and load the local stack
/// under the other measurements. The write is the same call to DynamoDB either way.
async fn streamless_copy(world: &World, source: &str, name: &str) {
    use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex};
    let table = world
        .dynamodb
        .describe_table()
        .table_name(source)
        .send()
        .await
        .expect("describe the event store")
        .table
        .expect("a table description");
    let indexes: Vec<GlobalSecondaryIndex> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .set_index_name(index.index_name().map(str::to_owned))
                .set_key_schema(Some(index.key_schema().to_vec()))
                .set_projection(index.projection().cloned())
                .build()
                .expect("an index")
        })
        .collect();
    world
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(table.key_schema().to_vec()))
        .set_attribute_definitions(Some(table.attribute_definitions().to_vec()))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await
        .expect("create the benchmark's event store");
    // create-order writes to it from its first invocation: on AWS a new table takes a while.
    adapters::dynamodb::wait_until_active(&world.dynamodb, name)
        .await
        .unwrap_or_else(|e| panic!("the benchmark's event store: {e}"));
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let options = Options::parse();
    let world = World::connect().await;
    let run = unique_id("bench");
    // Signed in once: create-order's benchmark requests all carry this customer's token.
    let customer = world.customer(DEFAULT_CUSTOMER);
    let (_, authorization) = customer.authorization();

    // A paid order whose stored events the stream consumers get again.
    let seed_id = format!("{run}-seed");
    let seed = customer.order_key(&seed_id);
    let placed = world
        .post_as(
            &customer,
            "/orders",
            &json!({"id": seed_id, "amount": 10}).to_string(),
        )
        .await;
    assert_eq!(placed.status, 202, "{:?}", placed.body);
    world
        .wait_for_status(&seed, "COMPLETED", Duration::from_secs(120))
        .await;
    let stream_batch = world
        .stream_batch_of(&seed, 1, "900000000000000000001")
        .await;
    let created = &world.stored_events(&seed).await[0];
    let created_detail: Value = serde_json::from_str(created["detail"].as_s().unwrap()).unwrap();

    let mut rows = Vec::new();
    if let Some(baseline) = &options.baseline {
        let environment = HashMap::from([("AWS_REGION".to_owned(), "us-east-1".to_owned())]);
        let mut echo = |_| json!({"hello": "world"});
        rows.push(measure(
            "hello world (baseline)",
            baseline,
            "hello",
            &environment,
            &mut echo,
            &options,
        ));
    }

    let mut scratch_tables = Vec::new();
    for function in &options.functions {
        let deployed = world
            .lambda
            .get_function_configuration()
            .function_name(format!("{}-{function}", world.stack.stack_name))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{function} is not deployed: {e}"));
        let mut environment: HashMap<String, String> = deployed
            .environment()
            .and_then(|e| e.variables().cloned())
            .unwrap_or_default();
        environment.extend([
            ("AWS_REGION".to_owned(), world.stack.region.clone()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
        ]);
        if let Some(endpoint) = &world.stack.endpoint {
            environment.insert("AWS_ENDPOINT_URL".to_owned(), endpoint.clone());
        }
        if function == "create-order" {
            let copy = format!("{run}-events");
            streamless_copy(&world, &world.stack.event_store_table, &copy).await;
            environment.insert("EVENT_STORE_TABLE".to_owned(), copy.clone());
            scratch_tables.push(copy);
        }
        let bootstrap = options.artifacts.join(function).join("bootstrap");
        let authorization = authorization.clone();
        let api_event = move |method: &str, path: &str, body: Option<String>| {
            json!({
                "resource": "/{proxy+}", "path": path, "httpMethod": method,
                "headers": {"Content-Type": "application/json", "Authorization": authorization},
                "multiValueHeaders": {},
                "requestContext": {"accountId": "000000000000", "resourceId": "r", "stage": "prod",
                    "requestId": unique_id("req"), "identity": {"sourceIp": "127.0.0.1"},
                    "resourcePath": "/{proxy+}", "httpMethod": method, "apiId": "bench", "path": path},
                "body": body, "isBase64Encoded": false
            })
        };
        let bus_event = |source: &str, detail: Value| {
            json!({"version": "0", "id": unique_id("eb"), "detail-type": detail["metadata"]["eventType"],
                "source": source, "account": "000000000000", "time": "2026-11-22T10:00:00Z",
                "region": "us-east-1", "resources": [], "detail": detail})
        };
        let run = run.clone();
        let seed = seed.clone();
        let customer = customer.clone();
        let mut events: Box<dyn FnMut(usize) -> Value> = match function.as_str() {
            "create-order" => Box::new(move |n| {
                api_event(
                    "POST",
                    "/orders",
                    Some(json!({"id": format!("{run}-{n}"), "amount": 10}).to_string()),
                )
            }),
            "outbox-processor" | "projection" => {
                let batch = stream_batch.clone();
                Box::new(move |_| batch.clone())
            }
            "payment" => {
                let detail = created_detail.clone();
                Box::new(move |n| {
                    let mut order = detail["data"].clone();
                    order["orderId"] = json!(customer.order_key(format!("{run}-pay-{n}")));
                    json!({"order": order, "orderEventVersion": detail["metadata"]["eventVersion"],
                        "correlationId": "bench", "causationId": uuid::Uuid::new_v4()})
                })
            }
            "update-order" => Box::new(move |_| {
                bus_event(
                    "payment-service",
                    json!({
                    "metadata": {"eventId": uuid::Uuid::new_v4(), "eventType": "PaymentSucceeded", "eventVersion": 1,
                        "occurredAt": "2026-11-22T10:00:00.000Z", "correlationId": "bench",
                        "causationId": "bench", "producer": "bench"},
                    "data": {"orderId": seed, "amount": 10, "currency": "USD", "paymentId": "pay-bench"}}),
                )
            }),
            "notification" => {
                let detail = created_detail.clone();
                Box::new(move |_| {
                    let mut detail = detail.clone();
                    detail["metadata"]["eventId"] = json!(uuid::Uuid::new_v4());
                    detail["metadata"]["causationId"] = json!(uuid::Uuid::new_v4());
                    bus_event("order-service", detail)
                })
            }
            other => panic!("no events for {other}"),
        };
        rows.push(measure(
            function,
            &bootstrap,
            function,
            &environment,
            &mut *events,
            &options,
        ));
    }

    for table in scratch_tables {
        let _ = world.dynamodb.delete_table().table_name(table).send().await;
    }

    // What the SDK, the function's code and its clients add to the bare runtime's start.
    let baseline = options
        .baseline
        .as_ref()
        .map(|_| rows[0].init_median.as_secs_f64());
    let mut table = String::from(
        "| function | init median (ms) | init worst (ms) | init vs hello world | warm p50 (ms) | warm p99 (ms) | peak RSS (MiB) | errors |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in &rows {
        let ratio = baseline
            .map(|b| format!("{:.2}x", row.init_median.as_secs_f64() / b))
            .unwrap_or_default();
        table.push_str(&format!(
            "| {} | {} | {} | {ratio} | {} | {} | {:.1} | {} |\n",
            row.function,
            ms(row.init_median),
            ms(row.init_worst),
            ms(row.warm_p50),
            ms(row.warm_p99),
            row.peak_mib,
            row.errors
        ));
    }
    println!(
        "{} cold starts and {} warm invocations per function\n\n{table}",
        options.cold_starts, options.invocations
    );
    if let Some(path) = options.markdown {
        std::fs::write(&path, &table).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let errors: usize = rows.iter().map(|r| r.errors).sum();
    assert_eq!(
        errors, 0,
        "invocations failed; see the first error of each function above"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Options {
        Options::try_parse_from(["lambda-bench"].iter().chain(args)).unwrap()
    }

    #[test]
    fn the_options_are_consistent() {
        use clap::CommandFactory;
        Options::command().debug_assert();
    }

    #[test]
    fn without_options_every_function_is_measured_as_bench_sh_does_it() {
        let options = parse(&[]);
        assert_eq!(options.artifacts, PathBuf::from("target/lambda"));
        assert_eq!(
            options.functions,
            [
                "create-order",
                "outbox-processor",
                "projection",
                "payment",
                "update-order",
                "notification"
            ]
        );
        assert_eq!(
            (options.cold_starts.get(), options.invocations.get()),
            (20, 1000)
        );
        assert_eq!((options.baseline, options.markdown), (None, None));
    }

    #[test]
    fn the_options_take_what_bench_sh_passes() {
        let options = parse(&[
            "--artifacts",
            "target/lambda",
            "--baseline",
            "target/lambda/hello-lambda/bootstrap",
            "--cold-starts",
            "3",
            "--invocations",
            "20",
            "--markdown",
            "out/functions.md",
        ]);
        assert_eq!(options.artifacts, PathBuf::from("target/lambda"));
        assert_eq!(
            options.baseline,
            Some(PathBuf::from("target/lambda/hello-lambda/bootstrap"))
        );
        assert_eq!(
            (options.cold_starts.get(), options.invocations.get()),
            (3, 20)
        );
        assert_eq!(options.markdown, Some(PathBuf::from("out/functions.md")));
        assert_eq!(options.functions.len(), 6, "every function by default");
    }

    #[test]
    fn a_missing_or_bad_value_is_a_usage_error() {
        e2e::assert_usage_errors::<Options>(&[
            &["--cold-starts"][..],
            &["--markdown"],
            &["--invocations", "many"],
            &["--cold-starts", "-1"],
            &["--cold-starts", "0"],
            &["--invocations", "0"],
        ]);
    }

    #[test]
    fn functions_are_comma_separated_and_a_repeated_flag_counts_the_last_time() {
        let options = parse(&["--functions", "payment,projection", "--cold-starts", "3"]);
        assert_eq!(options.functions, ["payment", "projection"]);
        let options = parse(&["--functions", "payment", "--functions", "outbox-processor"]);
        assert_eq!(options.functions, ["outbox-processor"]);
        assert_eq!(
            parse(&["--invocations", "5", "--invocations", "7"])
                .invocations
                .get(),
            7
        );
    }
}
