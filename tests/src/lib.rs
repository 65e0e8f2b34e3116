//! Test harness: a real moto server per test, spoken to over HTTP by the real SDK.
//!
//! Each [`Moto`] starts its own `moto_server` on a free loopback port and stops it on
//! drop, so tests run in parallel without sharing state.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_ecr::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecr::error::BoxError;
use aws_sdk_ecr::operation::batch_delete_image::BatchDeleteImageInput;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::{json, Value};

pub mod browser;
pub mod faults;
pub mod proxy;
pub mod tag_deletes;

/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The workspace root (the folder with the workspace `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `moto_server` from `$MOTO_SERVER`, the project venv, or `PATH`, in that order.
fn moto_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = workspace_root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A running moto server.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto on a free port and waits until it answers.
    pub fn start() -> Moto {
        // Another process may take the port between our probe and moto's bind: retry.
        for _ in 0..5 {
            let port = free_port();
            let mut command = Command::new(moto_server_binary());
            command
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // Drop does not run when a test binary is killed (timeout, Ctrl-C): have the
            // kernel stop moto when the thread that started it goes, so no server is left
            // behind. Tests create and drop their Moto on one thread.
            // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let mut child = command
                .spawn()
                .expect("moto_server starts (install it with `make venv`)");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if http(port, "GET", "/moto-api/", "").is_ok_and(|(status, _)| status == 200) {
                    return Moto { child, port };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration for this server: test credentials, one attempt per call (moto
    /// answers unimplemented operations with a 500 the standard policy would retry).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        test_sdk_config(&self.endpoint()).await
    }

    /// Environment variables that point a child process (a function run by
    /// cargo-lambda, the CLI, Terraform) at this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_DEFAULT_REGION".into(), REGION.into()),
            ("AWS_MAX_ATTEMPTS".into(), "1".into()),
        ]
    }

    /// POSTs JSON to one of moto's own endpoints (`/moto-api/...`), e.g. to seed scan
    /// findings. Panics unless moto answers 2xx.
    pub fn moto_api_post(&self, path: &str, body: &serde_json::Value) -> String {
        let (status, text) = http(self.port, "POST", path, &body.to_string())
            .unwrap_or_else(|err| panic!("POST {path}: {err}"));
        assert!((200..300).contains(&status), "POST {path}: {status} {text}");
        text
    }

    /// Clears all of moto's state.
    pub fn reset(&self) {
        self.moto_api_post("/moto-api/reset", &serde_json::json!({}));
    }
}

/// SDK configuration for a test endpoint (moto, or a proxy in front of it): test
/// credentials, `us-east-1`, one attempt per call.
pub async fn test_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange, enough for moto's own API.
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad HTTP response: {response:.200}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Reads a sample event shipped in `tests/events/`.
pub fn sample_event(name: &str) -> serde_json::Value {
    let path = workspace_root().join("tests/events").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("parse {}: {err}", path.display()))
}

// ---------------------------------------------------------------- janitor bus events

/// The `source` of every event the janitor publishes.
pub const JANITOR_SOURCE: &str = "ecr-janitor";

/// Creates the EventBridge bus `name`.
pub async fn create_event_bus(sdk: &SdkConfig, name: &str) {
    aws_sdk_eventbridge::Client::new(sdk)
        .create_event_bus()
        .name(name)
        .send()
        .await
        .expect("create event bus");
}

/// Captures the events the janitor puts on an EventBridge bus, to assert on them: a rule
/// on the bus routes them to an SQS queue, which [`BusCapture::events`] drains.
pub struct BusCapture {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl BusCapture {
    /// Creates the bus `bus_name` and captures every janitor event (source
    /// `ecr-janitor`) put on it.
    pub async fn start(sdk: &SdkConfig, bus_name: &str) -> BusCapture {
        create_event_bus(sdk, bus_name).await;
        Self::attach(
            sdk,
            bus_name,
            "janitor-events",
            json!({"source": [JANITOR_SOURCE]}),
        )
        .await
    }

    /// Captures only the janitor events of `detail_type` put on the existing bus
    /// `bus_name`. Each detail type gets its own queue, so several can be captured at once.
    pub async fn detail_type(sdk: &SdkConfig, bus_name: &str, detail_type: &str) -> BusCapture {
        Self::attach(
            sdk,
            bus_name,
            &detail_type.replace(' ', "-"),
            json!({"source": [JANITOR_SOURCE], "detail-type": [detail_type]}),
        )
        .await
    }

    /// Creates queue `name` and rule `name` on `bus_name` with `pattern`, targeting it.
    async fn attach(sdk: &SdkConfig, bus_name: &str, name: &str, pattern: Value) -> BusCapture {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create queue")
            .queue_url()
            .expect("queue url")
            .to_owned();
        let events = aws_sdk_eventbridge::Client::new(sdk);
        events
            .put_rule()
            .name(name)
            .event_bus_name(bus_name)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("put rule");
        events
            .put_targets()
            .rule(name)
            .event_bus_name(bus_name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("put targets");
        BusCapture { sqs, queue_url }
    }

    /// Drains the queue: the whole EventBridge envelope of every event captured since the
    /// last drain, in order of arrival, each checked to come from the janitor and
    /// deleted from the queue. Keeps polling until at least `expected` events have come
    /// and the queue is empty, or for 5 s at most (then returns what came).
    pub async fn events(&self, expected: usize) -> Vec<Value> {
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive message");
            for message in output.messages() {
                let event: Value =
                    serde_json::from_str(message.body().expect("body")).expect("event JSON");
                assert_eq!(event["source"], JANITOR_SOURCE);
                events.push(event);
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().expect("receipt handle"))
                    .send()
                    .await
                    .expect("delete message");
            }
            let empty = output.messages().is_empty();
            if (events.len() >= expected && empty) || Instant::now() >= deadline {
                return events;
            }
            if empty {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// [`BusCapture::events`], each checked to be of `detail_type`, as their `detail`s.
    pub async fn details(&self, detail_type: &str, expected: usize) -> Vec<Value> {
        self.events(expected)
            .await
            .into_iter()
            .map(|mut event| {
                assert_eq!(event["detail-type"], detail_type);
                event["detail"].take()
            })
            .collect()
    }
}

// ---------------------------------------------------------------- ECR call recording

/// One ECR operation a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrCall {
    /// The operation name, e.g. `DescribeImages`.
    pub operation: String,
    /// For `BatchDeleteImage`, the digests it was asked to delete, in request order.
    pub digests: Vec<String>,
}

/// Records every operation an ECR client sends, in order, to assert which calls code
/// under test made. Install it with [`EcrCallLog::client`]; clones share one log.
///
/// Names come from the operation's metadata, so every operation is named (whatever its
/// protocol), once per operation (not per attempt), even if it fails before it is sent.
#[derive(Debug, Clone, Default)]
pub struct EcrCallLog(Arc<Mutex<Vec<EcrCall>>>);

impl EcrCallLog {
    /// An ECR client for `sdk` that records its calls in this log.
    pub fn client(&self, sdk: &SdkConfig) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::from_conf(
            aws_sdk_ecr::config::Builder::from(sdk)
                .interceptor(self.clone())
                .build(),
        )
    }

    /// Every call recorded so far.
    pub fn calls(&self) -> Vec<EcrCall> {
        self.0.lock().expect("lock").clone()
    }

    /// The names of the operations called so far, in order.
    pub fn names(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .map(|call| call.operation)
            .collect()
    }

    /// How many times `operation` was called.
    pub fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    }

    /// The digests of each `BatchDeleteImage` call, one list per call, in order.
    pub fn deletes(&self) -> Vec<Vec<String>> {
        self.calls()
            .into_iter()
            .filter(|call| call.operation == "BatchDeleteImage")
            .map(|call| call.digests)
            .collect()
    }

    /// Forgets the calls recorded so far.
    pub fn clear(&self) {
        self.0.lock().expect("lock").clear();
    }
}

impl Intercept for EcrCallLog {
    fn name(&self) -> &'static str {
        "EcrCallLog"
    }

    // Not `read_before_execution`: a client interceptor runs that before the operation's
    // configuration (and so its `Metadata`) is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .ok_or("no operation metadata")?
            .name()
            .to_owned();
        let digests = context
            .input()
            .downcast_ref::<BatchDeleteImageInput>()
            .map(|input| {
                input
                    .image_ids()
                    .iter()
                    .filter_map(|id| id.image_digest().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        self.0
            .lock()
            .map_err(|err| err.to_string())?
            .push(EcrCall { operation, digests });
        Ok(())
    }
}

// ---------------------------------------------------------------- images

/// Media type of a single-platform Docker image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A made-up `sha256:` digest, unique to `n`.
pub fn fake_digest(n: u64) -> String {
    format!("sha256:{n:064x}")
}

/// A minimal single-platform Docker v2 manifest for image number `n`: its config and
/// layer digests, and so the image digest moto assigns, depend on `n` only.
pub fn image_manifest(n: u64) -> Value {
    json!({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 1000 + n, "digest": fake_digest(n)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 100, "digest": fake_digest(1_000_000 + n)}]
    })
}

/// Creates the IAM role `name` that Lambda functions may assume; returns its ARN.
pub async fn create_lambda_role(sdk: &SdkConfig, name: &str) -> String {
    let role = aws_sdk_iam::Client::new(sdk)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("role");
    role.role().map(|role| role.arn().to_owned()).expect("arn")
}

/// Creates an ECR repository and returns it as ECR describes it.
pub async fn create_repository(
    ecr: &aws_sdk_ecr::Client,
    name: &str,
) -> aws_sdk_ecr::types::Repository {
    ecr.create_repository()
        .repository_name(name)
        .send()
        .await
        .expect("create repository")
        .repository()
        .expect("repository")
        .clone()
}

/// Every image of the repository, as `DescribeImages` lists it: digest -> sorted tags.
pub async fn images(ecr: &aws_sdk_ecr::Client, repository: &str) -> BTreeMap<String, Vec<String>> {
    ecr.describe_images()
        .repository_name(repository)
        .send()
        .await
        .expect("describe images")
        .image_details()
        .iter()
        .map(|image| {
            let mut tags = image.image_tags().to_vec();
            tags.sort();
            (image.image_digest().expect("digest").to_owned(), tags)
        })
        .collect()
}

/// Pushes `manifest` with `PutImage` (media type from its `mediaType`), tagged `tag`
/// or untagged (`None`); `digest` names the image's digest instead of letting moto pick
/// it. Returns the digest moto assigned.
pub async fn put_image(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    tag: Option<&str>,
    manifest: &Value,
    digest: Option<String>,
) -> String {
    let media_type = manifest["mediaType"].as_str().expect("media type");
    ecr.put_image()
        .repository_name(repository)
        .image_manifest(manifest.to_string())
        .image_manifest_media_type(media_type)
        .set_image_tag(tag.map(str::to_owned))
        .set_image_digest(digest)
        .send()
        .await
        .expect("put image")
        .image()
        .and_then(|image| image.image_id())
        .and_then(|id| id.image_digest())
        .expect("digest")
        .to_owned()
}

/// Pushes image number `n` ([`image_manifest`]), tagged `tag` or untagged; returns its
/// digest. Pushing the same `n` again under another tag adds the tag to that image.
pub async fn push_image(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    n: u64,
    tag: Option<&str>,
) -> String {
    put_image(ecr, repository, tag, &image_manifest(n), None).await
}

/// Runs a test on a thread with a large stack: in debug builds the SDK's `GetFindings`
/// deserialiser (`ResourceDetails` has hundreds of members) overflows the 2 MB of a
/// test thread.
pub fn run_on_large_stack<F, Fut>(test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let thread = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(test())
        })
        .expect("test thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}
