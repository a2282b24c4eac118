//! Helpers shared by the end-to-end tests: a real `evident` server process,
//! the sibling `evident-verify` binary, and the Go reference verifier.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// The `evident` binary under test.
pub fn evident_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_evident"))
}

/// The `evident-verify` binary, built beside `evident` by `cargo test --workspace`
/// (or built here if this test was run alone).
pub fn verify_bin() -> PathBuf {
    let p = evident_bin().with_file_name("evident-verify");
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-p", "evident-verify", "--bin", "evident-verify"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build evident-verify");
        assert!(st.success());
    }
    p
}

/// Runs `evident-verify` and returns (success, stdout, stderr).
pub fn verify(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(verify_bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Builds the Go reference verifier (golang.org/x/mod/sumdb/note and
/// sumdb/tlog, pinned in tests/interop/go/go.mod) once per test binary.
pub fn go_verifier() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| go_build("goverify", "evident-go-verify"))
        .clone()
}

/// Builds the Go program `tests/interop/go/<pkg>` (a module pinned by
/// go.mod and go.sum) into a temporary file named after `name` and the pid.
pub fn go_build(pkg: &str, name: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/go");
    let res = Command::new("go")
        .args(["build", "-mod=readonly", "-o"])
        .arg(&out)
        .arg(format!("./{pkg}"))
        .current_dir(&dir)
        .env("GOFLAGS", "")
        .output()
        .expect("the Go toolchain must be on PATH (/usr/local/go/bin); .ci/run adds it");
    assert!(
        res.status.success(),
        "go build ./{pkg} failed (modules come from tests/interop/go/go.mod): {}",
        String::from_utf8_lossy(&res.stderr)
    );
    out
}

/// Runs the Go verifier; returns (success, output).
pub fn go_verify(args: &[&str]) -> (bool, String) {
    let out = Command::new(go_verifier()).args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A running `evident serve` on a loopback port, killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub operator_token: Option<String>,
    /// The demo tenant's admin token, when started with `--demo` on a new directory.
    pub demo_token: Option<String>,
    pub data_dir: PathBuf,
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the server on `data_dir` with a fixed master key.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    /// Starts the server with extra `serve` flags.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(data_dir, extra, None)
    }

    /// Starts the server with extra flags, its log (at `debug`) written to
    /// `log` instead of the test's output.
    pub fn start_logging_to(data_dir: &Path, extra: &[&str], log: &Path) -> Self {
        Self::spawn(data_dir, extra, Some(log))
    }

    fn spawn(data_dir: &Path, extra: &[&str], log: Option<&Path>) -> Self {
        let stderr = match log {
            Some(p) => Stdio::from(std::fs::File::create(p).expect("the server log file")),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(evident_bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--public-host",
                "evident.test",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("EVIDENT_MASTER_KEY", "11".repeat(32))
            .env("EVIDENT_LOG", if log.is_some() { "debug" } else { "warn" })
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start evident");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut operator_token = None;
        let mut demo_token = None;
        let url = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("server printed its address within 30 s");
            if let Some(t) = line.strip_prefix("EVIDENT_OPERATOR_TOKEN=") {
                operator_token = Some(t.to_owned());
            }
            if let Some(t) = line.strip_prefix("EVIDENT_DEMO_ADMIN_TOKEN=") {
                demo_token = Some(t.to_owned());
            }
            if let Some(u) = line.strip_prefix("EVIDENT_LISTENING=") {
                break u.to_owned();
            }
        };
        Self {
            child,
            url,
            operator_token,
            demo_token,
            data_dir: data_dir.to_owned(),
            lines: rx,
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        // Generous: other tests (the SBOM validators) may hold both cores.
        for _ in 0..1200 {
            if let Ok(Some(st)) = self.child.try_wait() {
                assert!(st.success(), "server exited with {st}");
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("server did not shut down within 30 s of SIGTERM");
    }

    /// A request builder with a bearer token.
    pub fn get(&self, path: &str, token: &str) -> ureq::Request {
        ureq::get(&format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {token}"))
    }

    /// POST with a bearer token.
    pub fn post(&self, path: &str, token: &str) -> ureq::Request {
        ureq::post(&format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {token}"))
    }

    /// The size of `tenant`'s log now (its latest checkpoint's second line).
    pub fn log_size(&self, tenant: &str, token: &str) -> u64 {
        let cp = self
            .get(&format!("/api/v1/tenants/{tenant}/log/checkpoint"), token)
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        cp.lines().nth(1).unwrap().parse().unwrap()
    }

    /// The kinds of the entries an audit query selects (`query` as in
    /// `…/audit/events?query`), sorted.
    pub fn audit_kinds(&self, tenant: &str, query: &str, token: &str) -> Vec<String> {
        let v: serde_json::Value = self
            .get(
                &format!("/api/v1/tenants/{tenant}/audit/events?{query}"),
                token,
            )
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        let mut kinds: Vec<String> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let leaf: serde_json::Value =
                    serde_json::from_str(e["entry"].as_str().unwrap()).unwrap();
                leaf["event"]["kind"].as_str().unwrap().to_owned()
            })
            .collect();
        kinds.sort();
        kinds
    }

    /// Creates tenant `slug` with the operator token, and a push token for it.
    pub fn tenant(&self, slug: &str, name: &str) -> Tenant {
        let op = self.operator_token.clone().expect("a first start");
        let v: serde_json::Value = self
            .post("/api/v1/tenants", &op)
            .send_json(serde_json::json!({"slug": slug, "name": name}))
            .unwrap()
            .into_json()
            .unwrap();
        let admin = v["admin_token"]["token"].as_str().unwrap().to_owned();
        let vkey = v["log_key"].as_str().unwrap().to_owned();
        let p: serde_json::Value = self
            .post(&format!("/api/v1/tenants/{slug}/tokens"), &admin)
            .send_json(serde_json::json!({"scope": "push"}))
            .unwrap()
            .into_json()
            .unwrap();
        Tenant {
            slug: slug.to_owned(),
            admin,
            push: p["token"].as_str().unwrap().to_owned(),
            vkey,
        }
    }

    /// Pushes release `product` `tag` of one artefact with `sbom`; panics
    /// unless the server takes it.
    pub fn push_release(&self, t: &Tenant, product: &str, tag: &str, artefact: &str, sbom: &[u8]) {
        use base64::Engine as _;
        self.post(&format!("/api/v1/tenants/{}/releases", t.slug), &t.push)
            .send_json(serde_json::json!({
                "product": product, "tag": tag,
                "artefacts": [{"name": product, "digest": artefact}],
                "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(sbom), "encoding": "base64"},
            }))
            .unwrap();
    }
}

/// A tenant made by [`Server::tenant`].
pub struct Tenant {
    pub slug: String,
    /// Its first admin token.
    pub admin: String,
    /// A push token.
    pub push: String,
    /// Its log's verifier key.
    pub vkey: String,
}

/// A file of `tests/fixtures/sboms/`.
pub fn sbom_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sboms")
            .join(name),
    )
    .unwrap()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `body` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

/// `tests/interop`, where the node and Go peers live.
pub fn interop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// A running oidc_idp.mjs, killed on drop.
pub struct Idp {
    pub child: Child,
    pub issuer: String,
}

impl Idp {
    pub fn start(mode: &str, clients: serde_json::Value) -> Self {
        Self::start_at(mode, clients, 0)
    }

    /// Starts on `port` (0: any), with a fresh signing key.
    pub fn start_at(mode: &str, clients: serde_json::Value, port: u16) -> Self {
        let cfg = serde_json::json!({
            "mode": mode,
            "clients": clients,
            "groups": {"bob@globex.example": ["globex-sbom"]},
            "port": port,
        });
        let mut child = Command::new("node")
            .arg(interop().join("oidc_idp.mjs"))
            .arg(cfg.to_string())
            .env("NODE_PATH", interop().join("node_modules"))
            .current_dir(interop())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node (installed by .ci/setup)");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep draining, so the IdP never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let issuer = line
            .trim()
            .strip_prefix("IDP_LISTENING=")
            .unwrap_or_else(|| panic!("oidc_idp.mjs printed {line:?}"))
            .to_owned();
        Self { child, issuer }
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
