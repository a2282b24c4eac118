//! `evident push`: the CI client for `POST /api/v1/tenants/{tenant}/releases`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use base64::Engine as _;
use clap::Args;
use serde_json::{json, Value};

/// `evident push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Server base URL, e.g. https://evidence.example.com.
    #[arg(long, env = "EVIDENT_SERVER")]
    pub server: String,
    /// A push token (prefer the EVIDENT_TOKEN variable to keep it out of process lists).
    #[arg(long, env = "EVIDENT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Tenant slug. Default: the token's tenant, asked of `GET /api/v1/whoami`.
    #[arg(long, env = "EVIDENT_TENANT")]
    pub tenant: Option<String>,
    /// Product name.
    #[arg(long)]
    pub product: String,
    /// Release tag, e.g. v1.2.3.
    #[arg(long)]
    pub tag: String,
    /// An artefact as NAME=sha256:HEX; repeat for several.
    #[arg(long = "artefact", required = true, value_name = "NAME=sha256:HEX")]
    pub artefacts: Vec<String>,
    /// The SBOM file (CycloneDX JSON/XML, SPDX JSON/tag-value).
    #[arg(long)]
    pub sbom: PathBuf,
    /// A DSSE envelope with an in-toto statement (JSON, or the first line of a .jsonl).
    #[arg(long)]
    pub provenance: Option<PathBuf>,
    /// Reachability findings (JSON).
    #[arg(long)]
    pub findings: Option<PathBuf>,
    /// For a product release: a component release it is made of, as
    /// PRODUCT:TAG (pushed before); repeat for each.
    #[arg(long = "component", value_name = "PRODUCT:TAG")]
    pub components: Vec<String>,
}

fn read_json(path: &PathBuf, first_line_ok: bool) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_str(&text) {
        Ok(v) => Ok(v),
        Err(e) if first_line_ok => {
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            serde_json::from_str(first)
                .with_context(|| format!("{} is not JSON: {e}", path.display()))
        }
        Err(e) => bail!("{} is not JSON: {e}", path.display()),
    }
}

/// Builds the request body from the arguments.
pub fn body(a: &PushArgs) -> anyhow::Result<Value> {
    let mut artefacts = Vec::new();
    for s in &a.artefacts {
        let Some((name, digest)) = s.rsplit_once('=') else {
            bail!("--artefact {s:?} must be NAME=sha256:HEX");
        };
        artefacts.push(json!({"name": name, "digest": digest}));
    }
    let sbom = std::fs::read(&a.sbom).with_context(|| format!("reading {}", a.sbom.display()))?;
    let mut body = json!({
        "product": a.product,
        "tag": a.tag,
        "artefacts": artefacts,
        "sbom": {"content": base64::engine::general_purpose::STANDARD.encode(sbom), "encoding": "base64"},
    });
    if let Some(p) = &a.provenance {
        body["provenance"] = read_json(p, true)?;
    }
    if let Some(f) = &a.findings {
        body["findings"] = read_json(f, false)?;
    }
    if !a.components.is_empty() {
        let mut list = Vec::new();
        for c in &a.components {
            let Some((product, tag)) = c.split_once(':') else {
                bail!("--component {c:?} must be PRODUCT:TAG");
            };
            list.push(json!({"product": product, "tag": tag}));
        }
        body["components"] = Value::Array(list);
    }
    Ok(body)
}

/// Sends `req` (with `body` as JSON, if any) and returns the status and
/// the JSON answer; a refusal is an error quoting the server's message.
pub fn call(req: ureq::Request, body: Option<Value>, what: &str) -> anyhow::Result<(u16, Value)> {
    let url = req.url().to_owned();
    let res = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match res {
        Ok(r) => Ok((
            r.status(),
            r.into_json().context("reading the server's answer")?,
        )),
        Err(ureq::Error::Status(code, r)) => {
            let v: Value = r.into_json().unwrap_or(Value::Null);
            let msg = v["message"].as_str().unwrap_or("(no message)");
            bail!("the server refused {what} ({code}): {msg}");
        }
        Err(e) => bail!("could not reach {url}: {e}"),
    }
}

/// `tenant`, or the token's own tenant, asked of `GET /api/v1/whoami`.
pub fn tenant_of(base: &str, auth: &str, tenant: Option<&str>) -> anyhow::Result<String> {
    if let Some(t) = tenant {
        return Ok(t.to_owned());
    }
    let who = call(
        ureq::get(&format!("{base}/api/v1/whoami")).set("Authorization", auth),
        None,
        "the token",
    )?
    .1;
    Ok(who["tenant"]
        .as_str()
        .context("the token belongs to no tenant")?
        .to_owned())
}

/// Runs the push; returns the line to print on success.
pub fn run(a: &PushArgs) -> anyhow::Result<String> {
    let body = body(a)?;
    let base = a.server.trim_end_matches('/');
    let auth = format!("Bearer {}", a.token);
    let tenant = tenant_of(base, &auth, a.tenant.as_deref())?;
    let url = format!("{base}/api/v1/tenants/{tenant}/releases");
    let (status, v) = call(
        ureq::post(&url)
            .set("Authorization", &auth)
            .timeout(std::time::Duration::from_secs(300)),
        Some(body),
        "the push",
    )?;
    let r = &v["release"];
    for w in r["warnings"].as_array().into_iter().flatten() {
        eprintln!(
            "warning: {}: {}",
            w["where"].as_str().unwrap_or(""),
            w["message"].as_str().unwrap_or("")
        );
    }
    let what = if status == 201 { "pushed" } else { "unchanged" };
    Ok(format!(
        "{what} {} {} revision {} (log index {}, sbom sha256:{}, {} components)",
        r["product"].as_str().unwrap_or("?"),
        r["tag"].as_str().unwrap_or("?"),
        r["revision"],
        r["log_index"],
        r["sbom"]["sha256"].as_str().unwrap_or("?"),
        r["sbom"]["components"],
    ))
}
