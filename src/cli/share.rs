//! `evident share`: issue, list and revoke share links from a terminal,
//! through `…/share-links` (an admin token, or one of the `share` scope).

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};

use crate::cli::push::{call, tenant_of};

/// `evident share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Server base URL, e.g. https://evidence.example.com.
    #[arg(long, env = "EVIDENT_SERVER")]
    pub server: String,
    /// An admin or share token (prefer the EVIDENT_TOKEN variable).
    #[arg(long, env = "EVIDENT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Tenant slug. Default: the token's tenant.
    #[arg(long, env = "EVIDENT_TENANT")]
    pub tenant: Option<String>,
    /// Product name.
    #[arg(long, required_unless_present_any = ["list", "revoke"])]
    pub product: Option<String>,
    /// Release tag.
    #[arg(long, required_unless_present_any = ["list", "revoke"])]
    pub tag: Option<String>,
    /// Pin a revision (default: the latest at each download).
    #[arg(long)]
    pub revision: Option<u32>,
    /// Lifetime, e.g. 48h, 7d, 2days (24 hours to the tenant's maximum;
    /// default: the tenant's default).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub ttl: Option<std::time::Duration>,
    /// What the link covers, comma separated: cyclonedx-json,
    /// cyclonedx-xml, spdx-json, spdx-tv, notice, kit (default: all).
    #[arg(long, value_delimiter = ',')]
    pub covers: Vec<String>,
    /// At most this many downloads.
    #[arg(long)]
    pub max_uses: Option<u32>,
    /// A label for the recipient.
    #[arg(long)]
    pub label: Option<String>,
    /// The recipient's e-mail (kept, never sent to).
    #[arg(long)]
    pub email: Option<String>,
    /// List the links instead (of --product/--tag when given).
    #[arg(long, conflicts_with = "revoke")]
    pub list: bool,
    /// Revoke the link with this id instead.
    #[arg(long, value_name = "ID")]
    pub revoke: Option<String>,
}

/// The request body of an issue.
pub fn body(a: &ShareArgs) -> Value {
    let mut b = json!({
        "product": a.product,
        "tag": a.tag,
    });
    if let Some(r) = a.revision {
        b["revision"] = json!(r);
    }
    if let Some(t) = a.ttl {
        b["ttl_secs"] = json!(t.as_secs());
    }
    if !a.covers.is_empty() {
        b["covers"] = json!(a.covers);
    }
    for (k, v) in [("label", &a.label), ("email", &a.email)] {
        if let Some(v) = v {
            b[k] = json!(v);
        }
    }
    if let Some(m) = a.max_uses {
        b["max_uses"] = json!(m);
    }
    b
}

/// Runs the command; returns what to print on standard output.
pub fn run(a: &ShareArgs) -> anyhow::Result<String> {
    let base = a.server.trim_end_matches('/');
    let auth = format!("Bearer {}", a.token);
    let tenant = tenant_of(base, &auth, a.tenant.as_deref())?;
    let links = format!("{base}/api/v1/tenants/{tenant}/share-links");
    if let Some(id) = &a.revoke {
        let v = call(
            ureq::delete(&format!("{links}/{id}")).set("Authorization", &auth),
            None,
            "the revocation",
        )?
        .1;
        return Ok(format!(
            "revoked share link {} at log index {}",
            v["id"].as_str().unwrap_or(id),
            v["revoked_index"]
        ));
    }
    if a.list {
        let mut req = ureq::get(&links).set("Authorization", &auth);
        for (k, v) in [("product", &a.product), ("tag", &a.tag)] {
            if let Some(v) = v {
                req = req.query(k, v);
            }
        }
        let v = call(req, None, "the listing")?.1;
        let mut out = String::new();
        for l in v.as_array().context("the listing is not a list")? {
            out.push_str(&format!(
                "{}\t{} {}\t{}\t{} use(s)\texpires {}\n",
                l["id"].as_str().unwrap_or("?"),
                l["product"].as_str().unwrap_or("?"),
                l["tag"].as_str().unwrap_or("?"),
                l["state"].as_str().unwrap_or("?"),
                l["uses"],
                l["expires_at"].as_str().unwrap_or("?"),
            ));
        }
        return Ok(out.trim_end().to_owned());
    }
    let (_, v) = call(
        ureq::post(&links).set("Authorization", &auth),
        Some(body(a)),
        "the share link",
    )?;
    let url = v["url"].as_str().context("the answer has no url")?;
    let l = &v["link"];
    eprintln!(
        "share link {} for {} {}: works until {}; it is shown only now (log index {})",
        l["id"].as_str().unwrap_or("?"),
        l["product"].as_str().unwrap_or("?"),
        l["tag"].as_str().unwrap_or("?"),
        l["expires_at"].as_str().unwrap_or("?"),
        l["issued_index"],
    );
    if url.is_empty() {
        bail!("the server gave an empty link");
    }
    Ok(url.to_owned())
}
