//! Test harness: runs the real `healing-space` binary on port 0 and talks to it over real HTTP
//! and WebSockets (tokio-tungstenite), as an outside client would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const PASSWORD: &str = "correct-horse-battery";

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("healing-test-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Server {
    child: Option<Child>,
    pub addr: String,
    pub data_dir: PathBuf,
    /// The environment the server was started with; its CLI commands get it too (the store).
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts a server on a fresh data directory with a fast offline responder.
    pub fn start(extra: &[&str]) -> Server {
        Server::start_in(&temp_dir("srv"), extra, &[])
    }

    pub fn start_in(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_healing-space"));
        // Fast defaults for tests, unless the test sets them itself.
        // Tests register many patients from 127.0.0.1.
        for (flag, value) in
            [("--offline-word-delay", "2ms"), ("--workers", "2"), ("--registrations-per-ip-per-hour", "100000")]
        {
            if !extra.contains(&flag) {
                cmd.args([flag, value]);
            }
        }
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("GROQ_API_KEY")
            .env_remove("HEALING_LLM_API_KEY")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn healing-space");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("server printed nothing").unwrap();
        let addr = first.rsplit("http://").next().unwrap().trim().to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Server { child: Some(child), addr, data_dir: data_dir.to_path_buf(), env }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let c = self.child.as_mut().unwrap();
        Command::new("kill").arg("-TERM").arg(c.id().to_string()).status().unwrap();
        let status = c.wait().unwrap();
        self.child = None;
        status
    }

    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        cli_with_env(&self.data_dir, args, stdin, &env)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a `healing-space` subcommand against a data directory.
pub fn cli(data_dir: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    cli_with_env(data_dir, args, stdin, &[])
}

/// [`cli`] with extra environment (e.g. `HEALING_STORE=scylla` and its nodes).
pub fn cli_with_env(data_dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_healing-space"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn http() -> reqwest::Client {
    healing_llm::install_crypto_provider();
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

pub struct Account {
    pub id: String,
    pub username: String,
    pub token: String,
}

/// Registers a patient and signs in.
pub async fn patient(s: &Server, name: &str) -> Account {
    let username = format!("{name}-{}", &uuid::Uuid::new_v4().to_string()[..8]);
    let r = http()
        .post(s.url("/api/v1/auth/register"))
        .json(&json!({"username": username, "password": PASSWORD, "display_name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    login(s, &username).await
}

pub async fn login(s: &Server, username: &str) -> Account {
    let r = http()
        .post(s.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    Account {
        id: v["user"]["id"].as_str().unwrap().to_owned(),
        username: username.to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
    }
}

/// Creates an account of any role through the CLI (as an operator would) and signs in.
pub async fn staff(s: &Server, name: &str, role: &str) -> Account {
    let slug: String = name.chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).collect();
    let username = format!("{slug}-{}", &uuid::Uuid::new_v4().to_string()[..8]);
    let out = s.cli(&["user", "add", "--username", &username, "--role", role, "--display-name", name], PASSWORD);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    login(s, &username).await
}

pub async fn get(s: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = http().get(s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn post(s: &Server, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = http().post(s.url(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a socket ended, as seen by the client.
#[derive(Debug, PartialEq)]
pub enum Closed {
    Code(u16),
    Dropped,
}

impl Ws {
    pub async fn connect(s: &Server) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(s.ws_url()).await.unwrap();
        Ws { stream }
    }

    /// Connects and completes `hello`; returns the socket and the `welcome` frame.
    pub async fn hello(s: &Server, token: &str) -> (Ws, Value) {
        let mut ws = Ws::connect(s).await;
        ws.send(json!({"type": "hello", "token": token})).await;
        let welcome = ws.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (ws, welcome)
    }

    pub async fn send(&mut self, v: Value) {
        self.stream.send(Message::Text(v.to_string().into())).await.unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.stream.send(m).await.unwrap();
    }

    /// The next JSON frame (pings are answered by tungstenite itself).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(Duration::from_secs(10)).await.expect("no frame within 10 s")
    }

    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??;
            match next {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Frames until one of type `kind` (inclusive).
    pub async fn recv_until(&mut self, kind: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let v = self.recv().await;
            let done = v["type"] == kind;
            out.push(v);
            if done {
                return out;
            }
        }
    }

    /// Waits for the server to close the socket; returns its close code.
    pub async fn closed(&mut self) -> Closed {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => panic!("socket was not closed"),
                Ok(None) | Ok(Some(Err(_))) => return Closed::Dropped,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map(|f| Closed::Code(u16::from(f.code))).unwrap_or(Closed::Dropped);
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

/// Sends one chat message and collects every frame up to and including `ai.end`.
pub async fn chat(ws: &mut Ws, conversation: Option<&str>, text: &str) -> Vec<Value> {
    let mut frame = json!({"type": "chat.send", "client_msg_id": uuid::Uuid::new_v4().to_string(), "text": text});
    if let Some(c) = conversation {
        frame["conversation_id"] = json!(c);
    }
    ws.send(frame).await;
    ws.recv_until("ai.end").await
}

/// The reply text carried by `ai.delta` frames.
pub fn streamed_text(frames: &[Value]) -> String {
    frames.iter().filter(|f| f["type"] == "ai.delta").map(|f| f["text"].as_str().unwrap()).collect()
}

/// A message the risk engine grades high (preparation, plan and timing).
pub const HIGH_RISK: &str = "I've saved up all my tablets and tonight's the night, I've written the letters";

/// A patient on a clinician's caseload, and that clinician on a supervisor's team.
pub struct CareTeam {
    pub patient: Account,
    pub clinician: Account,
    pub supervisor: Account,
}

pub async fn care_team(s: &Server) -> CareTeam {
    let patient = patient(s, "Robin").await;
    let clinician = staff(s, "Dr Lee", "clinician").await;
    let supervisor = staff(s, "Sam Sup", "supervisor").await;
    assert!(
        s.cli(&["assign", "--clinician", &clinician.username, "--patient", &patient.username], "").status.success()
    );
    assert!(
        s.cli(&["team", "--supervisor", &supervisor.username, "--clinician", &clinician.username], "").status.success()
    );
    CareTeam { patient, clinician, supervisor }
}

/// The next frame of `kind`, skipping others.
pub async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let f = ws.recv().await;
        if f["type"] == kind {
            return f;
        }
    }
}

/// Polls `check` until it yields a value or `within` has passed (then `None`).
pub async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Prometheus text a node serves on `/metrics`.
pub async fn metrics_text(s: &Server) -> String {
    http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

/// The value of an unlabelled series in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The environment that puts a gateway on the CQL node of `HEALING_TEST_SCYLLA`, in a fresh
/// keyspace; `None` (the test prints that it skipped) when the variable is unset — except under
/// `CI=true` or `HEALING_TEST_SCYLLA_REQUIRED=1`, where a missing node fails the test.
pub fn cql_store_env() -> Option<Vec<(&'static str, String)>> {
    let on = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    let Some(nodes) = std::env::var("HEALING_TEST_SCYLLA").ok().filter(|v| !v.trim().is_empty()) else {
        assert!(
            !(on("CI") || on("HEALING_TEST_SCYLLA_REQUIRED")),
            "HEALING_TEST_SCYLLA is not set, and CI=true or HEALING_TEST_SCYLLA_REQUIRED=1 says the CQL tests \
             must run: start a node with `scripts/cql-node.sh start` and export its address"
        );
        println!("skipped: HEALING_TEST_SCYLLA not set (see README)");
        return None;
    };
    let keyspace = format!("healing_gw_{}", uuid::Uuid::new_v4().simple());
    Some(vec![
        ("HEALING_STORE", "scylla".to_owned()),
        ("HEALING_SCYLLA_NODES", nodes),
        ("HEALING_SCYLLA_KEYSPACE", keyspace),
    ])
}

/// `(k, v)` pairs borrowed for [`Server::start_in`].
pub fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
