//! A loopback HTTP proxy between the code under test and moto, to play a concurrent
//! client or reshape AWS answers in the middle of a call sequence: retag an image right
//! before a `BatchDeleteImage` reaches moto, split a `DescribeImages` answer into pages
//! (moto ignores paging), answer a call with an error moto never gives.
//!
//! Production code is unchanged: its clients are only pointed at the proxy, with
//! [`LoopbackProxy::sdk_config`] (SDK `endpoint_url`) or [`LoopbackProxy::env`]
//! (`AWS_ENDPOINT_URL` for a child process). Every request goes through
//! [`ProxyHooks::request`], which passes it on to moto (possibly changed) or answers it
//! itself; moto's answer goes through [`ProxyHooks::response`] before the client sees it.
//! Hooks get an [`Upstream`] to call moto directly, as another client would.
//!
//! std only: one thread accepts, one thread per client connection serves its requests in
//! turn (the SDK keeps HTTP/1.1 connections alive and may open several), and each request
//! goes to moto on a fresh connection (moto's server closes every connection after one
//! answer anyway). Hooks run on those threads, never on the test's async runtime, so they
//! may block.
//!
//! A hook that panics does not hang the client: the call is answered `500`
//! (`__type` `ProxyHookPanic`, the panic text as `message`), the panic is remembered, and
//! dropping the proxy panics with it unless the test took it with
//! [`LoopbackProxy::take_hook_panics`], so a panic fails the test even when the code under
//! test swallows the 500.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use crate::REGION;

/// How long a read or write on a started exchange may stall before it fails.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest message head (start line and header fields) the proxy reads.
const MAX_HEAD: usize = 64 * 1024;
/// The content type of AWS JSON 1.1 protocol bodies (ECR, ECS, EventBridge...).
const JSON_11: &str = "application/x-amz-json-1.1";
/// Header fields that describe one connection, not the message: dropped when a message
/// is passed on, framing (`Content-Length`, `Connection`) being set by the proxy.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "expect",
    "content-length",
];

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|hop| name.eq_ignore_ascii_case(hop))
}

/// Locks `mutex`, also after a panic elsewhere: the proxy's state stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

// ---------------------------------------------------------------- messages

/// A request a client sent to the proxy, as the hooks see and may change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRequest {
    pub method: String,
    /// The request target: path and query, e.g. `/` or `/bucket/key?tagging`.
    pub path: String,
    /// Header fields in the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ProxyRequest {
    /// The operation named by `X-Amz-Target` after the last '.', e.g.
    /// `BatchDeleteImage` (JSON protocol services: ECR, ECS, EventBridge, SQS...). `None`
    /// for other protocols (S3's REST, query).
    pub fn operation(&self) -> Option<&str> {
        self.header("x-amz-target")
            .map(|target| target.rsplit_once('.').map_or(target, |(_, op)| op))
    }

    /// The value of header field `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as JSON, `Value::Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// This request with `body` as its JSON body (`Content-Length` is recomputed when
    /// the request is sent).
    pub fn with_json(mut self, body: &Value) -> ProxyRequest {
        self.body = body.to_string().into_bytes();
        self
    }

    /// `METHOD path`, or the operation for JSON protocol calls: how
    /// [`LoopbackProxy::operations`] names it.
    fn name(&self) -> String {
        self.operation()
            .map_or_else(|| format!("{} {}", self.method, self.path), str::to_owned)
    }
}

/// An answer to a client: moto's, possibly changed by a hook, or one a hook made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: u16,
    /// Header fields as moto sent them. Framing fields (`Content-Length`,
    /// `Transfer-Encoding`, `Connection`) are replaced when the answer is sent on.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl ProxyResponse {
    /// An answer with a JSON 1.1 body, e.g. an AWS error:
    /// `json_status(400, &json!({"__type": "ThrottlingException", "message": "slow down"}))`.
    pub fn json_status(status: u16, body: &Value) -> ProxyResponse {
        ProxyResponse {
            status,
            headers: vec![("Content-Type".into(), JSON_11.into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// The value of header field `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as JSON, `Value::Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// This answer with `body` as its JSON body (`Content-Length` is recomputed when the
    /// answer is sent).
    pub fn with_json(mut self, body: &Value) -> ProxyResponse {
        self.body = body.to_string().into_bytes();
        self
    }
}

// ---------------------------------------------------------------- moto

/// moto behind the proxy, for hooks that act as another client.
#[derive(Debug, Clone, Copy)]
pub struct Upstream {
    port: u16,
}

impl Upstream {
    /// Sends `request` to moto on a fresh connection (`Connection: close`,
    /// `Content-Length` recomputed, `Host` added if missing) and reads its whole answer.
    pub fn send(&self, request: &ProxyRequest) -> io::Result<ProxyResponse> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
        if request.header("host").is_none() {
            head.push_str(&format!("Host: 127.0.0.1:{}\r\n", self.port));
        }
        for (name, value) in &request.headers {
            if !is_hop_by_hop(name) {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            request.body.len()
        ));
        stream.write_all(head.as_bytes())?;
        stream.write_all(&request.body)?;
        stream.flush()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        parse_response(&raw, request.method.eq_ignore_ascii_case("HEAD"))
    }

    /// Calls a JSON 1.1 operation on moto directly, as another client would: `target` is
    /// the whole `X-Amz-Target` (e.g. `AmazonEC2ContainerServiceV20141113.DescribeTasks`),
    /// `signing_name` the service in the credential scope (e.g. `ecs`), from which moto
    /// picks the service; the scope names the default account's `us-east-1`. Panics with
    /// moto's answer unless it is 2xx. Returns the JSON answer.
    pub fn call(&self, target: &str, signing_name: &str, body: &Value) -> Value {
        let request = ProxyRequest {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![
                ("Content-Type".into(), JSON_11.into()),
                ("X-Amz-Target".into(), target.into()),
                ("X-Amz-Date".into(), "20260101T000000Z".into()),
                (
                    "Authorization".into(),
                    format!(
                        "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{signing_name}/aws4_request, \
                         SignedHeaders=host;x-amz-date;x-amz-target, Signature=0"
                    ),
                ),
            ],
            body: body.to_string().into_bytes(),
        };
        let response = self
            .send(&request)
            .unwrap_or_else(|err| panic!("{target} on moto: {err}"));
        assert!(
            (200..300).contains(&response.status),
            "{target} on moto: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    /// Calls ECR operation `operation` (e.g. `PutImage`) on moto directly, as another
    /// client would; see [`Upstream::call`].
    pub fn ecr(&self, operation: &str, body: &Value) -> Value {
        self.call(
            &format!("AmazonEC2ContainerRegistry_V20150921.{operation}"),
            "ecr",
            body,
        )
    }
}

// ---------------------------------------------------------------- hooks

/// What to do with a request: send it to moto, or answer it without moto.
#[derive(Debug)]
pub enum Forward {
    Upstream(ProxyRequest),
    Respond(ProxyResponse),
}

/// What a test does to the traffic. Hooks run on the proxy's threads, possibly for
/// several connections at once; keep state in atomics or mutexes.
pub trait ProxyHooks: Send + Sync + 'static {
    /// Before a request goes to moto: pass it on (possibly changed), or answer it here.
    /// May call `upstream` first (e.g. retag an image before a delete reaches moto).
    fn request(&self, request: ProxyRequest, upstream: &Upstream) -> Forward {
        let _ = upstream;
        Forward::Upstream(request)
    }

    /// moto's answer to `request` (as it was sent to moto) before it goes back to the
    /// client. Not called for answers made by [`ProxyHooks::request`], nor when moto
    /// could not be reached (the client then gets a 502).
    fn response(
        &self,
        request: &ProxyRequest,
        response: ProxyResponse,
        upstream: &Upstream,
    ) -> ProxyResponse {
        let _ = (request, upstream);
        response
    }
}

/// No hooks: every request and answer passes unchanged.
impl ProxyHooks for () {}

/// A [`ProxyHooks::request`] hook from a closure; answers pass unchanged.
pub fn on_request<F>(hook: F) -> OnRequest<F>
where
    F: Fn(ProxyRequest, &Upstream) -> Forward + Send + Sync + 'static,
{
    OnRequest(hook)
}

/// A [`ProxyHooks::response`] hook from a closure; requests pass unchanged.
pub fn on_response<F>(hook: F) -> OnResponse<F>
where
    F: Fn(&ProxyRequest, ProxyResponse, &Upstream) -> ProxyResponse + Send + Sync + 'static,
{
    OnResponse(hook)
}

/// The hooks [`on_request`] makes.
pub struct OnRequest<F>(F);

impl<F> ProxyHooks for OnRequest<F>
where
    F: Fn(ProxyRequest, &Upstream) -> Forward + Send + Sync + 'static,
{
    fn request(&self, request: ProxyRequest, upstream: &Upstream) -> Forward {
        (self.0)(request, upstream)
    }
}

/// The hooks [`on_response`] makes.
pub struct OnResponse<F>(F);

impl<F> ProxyHooks for OnResponse<F>
where
    F: Fn(&ProxyRequest, ProxyResponse, &Upstream) -> ProxyResponse + Send + Sync + 'static,
{
    fn response(
        &self,
        request: &ProxyRequest,
        response: ProxyResponse,
        upstream: &Upstream,
    ) -> ProxyResponse {
        (self.0)(request, response, upstream)
    }
}

// ---------------------------------------------------------------- proxy

/// A running proxy on a loopback port in front of moto. Stops on drop: no new
/// connections, open ones are shut down, and no thread is left waiting on a socket.
pub struct LoopbackProxy {
    shared: Arc<Shared>,
    address: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

/// State shared by the proxy's threads.
struct Shared {
    upstream: Upstream,
    hooks: Box<dyn ProxyHooks>,
    /// What [`LoopbackProxy::operations`] returns.
    operations: Mutex<Vec<String>>,
    /// What [`LoopbackProxy::take_hook_panics`] returns.
    panics: Mutex<Vec<String>>,
    stopped: AtomicBool,
    /// A handle on each open client connection, to shut it down on drop.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

impl LoopbackProxy {
    /// Starts a proxy on a free `127.0.0.1` port in front of moto on `upstream_port`.
    pub fn start(upstream_port: u16, hooks: impl ProxyHooks) -> LoopbackProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let address = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            upstream: Upstream {
                port: upstream_port,
            },
            hooks: Box::new(hooks),
            operations: Mutex::default(),
            panics: Mutex::default(),
            stopped: AtomicBool::new(false),
            connections: Mutex::default(),
            next_connection: AtomicU64::new(0),
        });
        let accept = std::thread::Builder::new()
            .name("proxy-accept".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || shared.accept(listener)
            })
            .expect("start the proxy's accept thread");
        LoopbackProxy {
            shared,
            address,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// moto behind the proxy, to call it directly from the test.
    pub fn upstream(&self) -> &Upstream {
        &self.shared.upstream
    }

    /// The operations the proxy received so far, in order: the `X-Amz-Target` operation
    /// (e.g. `DescribeImages`), or `METHOD path` for other protocols. Calls hooks make
    /// through [`Upstream`] are not included.
    pub fn operations(&self) -> Vec<String> {
        lock(&self.shared.operations).clone()
    }

    /// The panics of hooks so far, each as "the proxy's request|response hook panicked:
    /// <message>", and forgets them, so dropping the proxy does not raise them.
    pub fn take_hook_panics(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.shared.panics))
    }

    /// Same as [`crate::Moto::sdk_config`] but pointed at the proxy: test credentials,
    /// region `us-east-1`, one attempt per call.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        crate::test_sdk_config(&self.endpoint()).await
    }

    /// Same as [`crate::Moto::env`] but pointed at the proxy: environment variables for a
    /// child process (the CLI, a function run by cargo-lambda).
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
}

impl Drop for LoopbackProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept thread, blocked in accept(), so it sees the flag. Joined only if
        // the wake-up got through: a failed join must not hang the test.
        let woken = TcpStream::connect_timeout(&self.address, Duration::from_secs(5)).is_ok();
        if let (true, Some(accept)) = (woken, self.accept.take()) {
            let _ = accept.join();
        }
        // No connection is registered after the join: end every open one. Threads busy
        // in a hook finish it and then find their socket shut down.
        for (_, stream) in lock(&self.shared.connections).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let panics = self.take_hook_panics();
        if !panics.is_empty() && !std::thread::panicking() {
            panic!(
                "{} proxy hook(s) panicked (take_hook_panics() to expect them): {panics:#?}",
                panics.len()
            );
        }
    }
}

impl Shared {
    fn accept(self: Arc<Self>, listener: TcpListener) {
        for stream in listener.incoming() {
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let Ok(stream) = stream else {
                // E.g. out of file descriptors: do not spin.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let Ok(handle) = stream.try_clone() else {
                continue;
            };
            let id = self.next_connection.fetch_add(1, Ordering::SeqCst);
            lock(&self.connections).insert(id, handle);
            let shared = Arc::clone(&self);
            let spawned = std::thread::Builder::new()
                .name(format!("proxy-connection-{id}"))
                .spawn(move || {
                    shared.serve(stream);
                    lock(&shared.connections).remove(&id);
                });
            if spawned.is_err() {
                lock(&self.connections).remove(&id);
            }
        }
    }

    /// Serves the requests of one client connection in turn until the client closes it,
    /// asks to close it, sends something the proxy does not understand, or the proxy
    /// stops.
    fn serve(&self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut writer = stream;
        while !self.stopped.load(Ordering::SeqCst) {
            // Wait for the next request without a deadline: the SDK keeps idle connections
            // to reuse them. Dropping the proxy shuts the socket down, ending the wait.
            let _ = reader.get_ref().set_read_timeout(None);
            match reader.fill_buf() {
                Ok([]) | Err(_) => return,
                Ok(_) => {}
            }
            let _ = reader.get_ref().set_read_timeout(Some(IO_TIMEOUT));
            let (request, close) = match read_request(&mut reader, &mut writer) {
                Ok(Some(request)) => request,
                Ok(None) => return,
                Err(err) => {
                    let response = text_response(400, &format!("loopback proxy: {err}"));
                    let _ = write_response(&mut writer, &response, false, true);
                    return;
                }
            };
            let head = request.method.eq_ignore_ascii_case("HEAD");
            let response = self.exchange(request);
            if write_response(&mut writer, &response, head, close).is_err() || close {
                return;
            }
        }
    }

    /// One request through the hooks and moto: the answer for the client.
    fn exchange(&self, request: ProxyRequest) -> ProxyResponse {
        lock(&self.operations).push(request.name());
        let forward = match self.guard("request", || self.hooks.request(request, &self.upstream)) {
            Ok(forward) => forward,
            Err(response) => return response,
        };
        let request = match forward {
            Forward::Respond(response) => return response,
            Forward::Upstream(request) => request,
        };
        let response = match self.upstream.send(&request) {
            Ok(response) => response,
            Err(err) => {
                let message = format!(
                    "loopback proxy: {} {} to moto on port {}: {err}",
                    request.method, request.path, self.upstream.port
                );
                return text_response(502, &message);
            }
        };
        self.guard("response", || {
            self.hooks.response(&request, response, &self.upstream)
        })
        .unwrap_or_else(|response| response)
    }

    /// Runs hook `name`; if it panics, records the panic and returns the 500 answer for
    /// the client.
    fn guard<T>(&self, name: &str, hook: impl FnOnce() -> T) -> Result<T, ProxyResponse> {
        catch_unwind(AssertUnwindSafe(hook)).map_err(|payload| {
            let text = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(not a string)".into());
            let message = format!("the proxy's {name} hook panicked: {text}");
            lock(&self.panics).push(message.clone());
            ProxyResponse::json_status(
                500,
                &json!({"__type": "ProxyHookPanic", "message": message}),
            )
        })
    }
}

// ---------------------------------------------------------------- HTTP/1.1

/// A plain-text answer made by the proxy itself.
fn text_response(status: u16, message: &str) -> ProxyResponse {
    ProxyResponse {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: message.as_bytes().to_vec(),
    }
}

/// Reads one line, without its line end; `None` at end of stream before any byte.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(MAX_HEAD as u64)
        .read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        return Err(invalid(
            "a line was cut off (end of stream, or over 64 KiB)",
        ));
    }
    let line = String::from_utf8_lossy(&line);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// A message head: the start line and the header fields.
type Head = (String, Vec<(String, String)>);

/// Reads a message head; `None` at end of stream before any byte.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut start = None;
    let mut headers = Vec::new();
    let mut size = 0;
    loop {
        let Some(line) = read_line(reader)? else {
            return match start {
                None => Ok(None),
                Some(_) => Err(invalid("the stream ended inside a message head")),
            };
        };
        size += line.len() + 2;
        if size > MAX_HEAD {
            return Err(invalid("a message head over 64 KiB"));
        }
        match start {
            // Empty lines before a request line are allowed (RFC 9112, 2.2).
            None if line.is_empty() => {}
            None => start = Some(line),
            Some(start) if line.is_empty() => return Ok(Some((start, headers))),
            Some(_) => {
                let (name, value) = line
                    .split_once(':')
                    .ok_or_else(|| invalid(format!("a header line without ':': {line:?}")))?;
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
    }
}

/// Reads a message body as its header fields frame it: de-chunks
/// `Transfer-Encoding: chunked`, else reads `Content-Length` bytes, else reads to the end
/// of the stream if `to_end` (an answer on a closing connection), else there is none.
fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    to_end: bool,
) -> io::Result<Vec<u8>> {
    if let Some(encoding) = find_header(headers, "transfer-encoding") {
        if !encoding.eq_ignore_ascii_case("chunked") {
            return Err(invalid(format!(
                "Transfer-Encoding {encoding:?}: only chunked or Content-Length bodies are supported"
            )));
        }
        return read_chunked(reader);
    }
    let mut body = Vec::new();
    if let Some(length) = find_header(headers, "content-length") {
        let length: u64 = length
            .parse()
            .map_err(|_| invalid(format!("Content-Length {length:?} is not a number")))?;
        reader.take(length).read_to_end(&mut body)?;
        if (body.len() as u64) < length {
            return Err(invalid(format!(
                "the stream ended after {} of {length} body bytes",
                body.len()
            )));
        }
    } else if to_end {
        reader.read_to_end(&mut body)?;
    }
    Ok(body)
}

/// Reads a `Transfer-Encoding: chunked` body (RFC 9112, 7.1), ignoring extensions and
/// trailers.
fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| invalid("a chunked body was cut off"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("a bad chunk size line {line:?}")))?;
        if size == 0 {
            // Trailer fields, up to an empty line (or the end of the stream).
            while read_line(reader)?.is_some_and(|line| !line.is_empty()) {}
            return Ok(body);
        }
        let before = body.len();
        reader.take(size).read_to_end(&mut body)?;
        if ((body.len() - before) as u64) < size {
            return Err(invalid("a chunk was cut off"));
        }
        if read_line(reader)?.is_none_or(|line| !line.is_empty()) {
            return Err(invalid("a chunk not followed by CRLF"));
        }
    }
}

/// Reads one request from a client; `None` if the client closed the connection. Also
/// returns whether the connection closes after the answer. Answers `Expect:
/// 100-continue` before reading the body.
fn read_request(
    reader: &mut impl BufRead,
    writer: &mut impl Write,
) -> io::Result<Option<(ProxyRequest, bool)>> {
    let Some((start, headers)) = read_head(reader)? else {
        return Ok(None);
    };
    let mut parts = start.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!("a bad request line {start:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("{version}: only HTTP/1.x is supported")));
    }
    if find_header(&headers, "expect")
        .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let body = read_body(reader, &headers, false)?;
    let close = version == "HTTP/1.0"
        || find_header(&headers, "connection").is_some_and(|value| {
            value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("close"))
        });
    let request = ProxyRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
    };
    Ok(Some((request, close)))
}

/// Parses moto's whole answer (read to the end of the connection) to a request, a
/// `HEAD` one if `head`.
fn parse_response(raw: &[u8], head: bool) -> io::Result<ProxyResponse> {
    let mut reader = raw;
    let (start, headers) = read_head(&mut reader)?
        .ok_or_else(|| invalid("moto closed the connection without an answer"))?;
    let status: u16 = start
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("a bad status line from moto: {start:?}")))?;
    let body = if head || (100..200).contains(&status) || status == 204 || status == 304 {
        Vec::new()
    } else {
        read_body(&mut reader, &headers, true)?
    };
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

/// Writes `response` to a client, framed by `Content-Length`, with `Connection: close` if
/// `close`. The answer to a `HEAD` request keeps moto's `Content-Length` and has no body.
fn write_response(
    writer: &mut impl Write,
    response: &ProxyResponse,
    head: bool,
    close: bool,
) -> io::Result<()> {
    let mut text = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        let kept_length = head && name.eq_ignore_ascii_case("content-length");
        if kept_length || !is_hop_by_hop(name) {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if !head || response.header("content-length").is_none() {
        let length = if head { 0 } else { response.body.len() };
        text.push_str(&format!("Content-Length: {length}\r\n"));
    }
    if close {
        text.push_str("Connection: close\r\n");
    }
    text.push_str("\r\n");
    writer.write_all(text.as_bytes())?;
    if !head {
        writer.write_all(&response.body)?;
    }
    writer.flush()
}

/// The reason phrase of common status codes (clients ignore it; it may be empty).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_chunked_answer() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n\
                    5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
        let response = parse_response(raw, false).expect("a valid answer");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"hello, world");
        assert_eq!(response.header("x-a"), Some("b"));
    }

    #[test]
    fn reads_requests_in_turn_and_rejects_bad_framing() {
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}\
                    PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                    3\r\nabc\r\n0\r\n\r\n\
                    POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
        let mut reader = &raw[..];
        let mut sink = Vec::new();
        let (first, close) = read_request(&mut reader, &mut sink).unwrap().unwrap();
        assert_eq!(
            (first.method.as_str(), first.body.as_slice(), close),
            ("POST", &b"{}"[..], false)
        );
        let (second, close) = read_request(&mut reader, &mut sink).unwrap().unwrap();
        assert_eq!(
            (second.path.as_str(), second.body.as_slice(), close),
            ("/b", &b"abc"[..], true)
        );
        let err = read_request(&mut reader, &mut sink).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
        assert!(sink.is_empty());
    }
}
