//! Audit queries end to end, against the real binary:
//!
//! 1. two tenants; in `acme`, two products, two customers with access
//!    tokens, and downloads: Initech 3× `shop` and 1× `tools`, Umbrella 2×
//!    `shop`;
//! 2. "who downloaded `shop`, customer Initech": 3 entries, newest first,
//!    in pages of 2 with a cursor, oldest first too; a time window after
//!    now selects none; the answer with proofs passes `evident-verify
//!    entries`, and the tampered answers (a byte changed, a proof dropped,
//!    an entry that the query does not select, another tenant's entry, the
//!    order swapped) fail naming the entry;
//! 3. the JSON Lines export with proofs passes `evident-verify entries`;
//!    cut short, it fails; the CSV export is read by Python's `csv` module
//!    with the numbers the statistics of the same query give;
//! 4. who may ask: auditor yes; push token and another tenant 404; bad
//!    parameters 422 with the JSON error naming them;
//!    a walk a page at a time while the log grows reads one tree and
//!    gives exactly the answer taken before it; the download counters on
//!    `/metrics` equal the logged downloads of each tenant;
//! 5. statistics: `GET …/audit/stats` by customer, product, channel and
//!    month give the numbers the log gives (downloads, distinct customers,
//!    bytes summed from the entries); the admin's statistics page, in
//!    Chromium (`tests/interop/stats_browser.mjs`), shows the same numbers,
//!    has no script, and its SVG chart renders: the screenshot has pixels
//!    of the bars' colour, and the current month's bar has height;
//!    the audit trail page, filtered by kind and customer, lists the entries
//!    the API gives for the same filter; the browser's token sign-in, its
//!    sign-out (the same session id) and a wrong token (one entry now, no
//!    secret; the rest of the minute aggregated later) are in the log;
//! 6. after a stop, `evident log audit` finds the index and the statistics
//!    agreeing with the log.

mod common;

use std::process::Command;

use common::{evident_bin, sbom_fixture, verify, write, Server, Tenant};
use serde_json::{json, Value};

fn customer(s: &Server, t: &Tenant, name: &str) -> (String, String) {
    let c: Value = s
        .post(&format!("/api/v1/tenants/{}/customers", t.slug), &t.admin)
        .send_json(json!({"name": name, "entitlements": [{"product": "shop", "tag": "*"}, {"product": "tools", "tag": "*"}]}))
        .unwrap()
        .into_json()
        .unwrap();
    let id = c["id"].as_str().unwrap().to_owned();
    let tok: Value = s
        .post(
            &format!("/api/v1/tenants/{}/customers/{id}/tokens", t.slug),
            &t.admin,
        )
        .send_json(json!({}))
        .unwrap()
        .into_json()
        .unwrap();
    (id, tok["token"].as_str().unwrap().to_owned())
}

fn download(s: &Server, t: &Tenant, product: &str, token: &str) {
    let r = s
        .get(
            &format!(
                "/api/v1/tenants/{}/products/{product}/releases/v1/sbom?format=cyclonedx-json",
                t.slug
            ),
            token,
        )
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn query(s: &Server, t: &Tenant, token: &str, q: &str) -> Value {
    s.get(
        &format!("/api/v1/tenants/{}/audit/events?{q}", t.slug),
        token,
    )
    .call()
    .unwrap_or_else(|e| panic!("{q}: {e}"))
    .into_json()
    .unwrap()
}

fn status(s: &Server, t: &Tenant, token: &str, q: &str) -> (u16, Value) {
    match s
        .get(
            &format!("/api/v1/tenants/{}/audit/events?{q}", t.slug),
            token,
        )
        .call()
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(c, r)) => (c, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

fn indexes(a: &Value) -> Vec<u64> {
    a["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn auditors_query_prove_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let s = Server::start_with(&dir.path().join("data"), &["--metrics-token", "m-token"]);

    // 1.
    let acme = s.tenant("acme", "Acme");
    let globex = s.tenant("globex", "Globex");
    let sbom = sbom_fixture("cargo-sbom-evidence-demo.cdx-1.6.json");
    let art = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    s.push_release(&acme, "shop", "v1", &art(1), &sbom);
    s.push_release(&acme, "tools", "v1", &art(2), &sbom);
    s.push_release(&globex, "shop", "v1", &art(3), &sbom);
    let (initech, itok) = customer(&s, &acme, "Initech");
    let (umbrella, utok) = customer(&s, &acme, "Umbrella");
    let (_, gtok) = customer(&s, &globex, "Initech");
    for _ in 0..3 {
        download(&s, &acme, "shop", &itok);
    }
    download(&s, &acme, "tools", &itok);
    download(&s, &acme, "shop", &utok);
    download(&s, &acme, "shop", &utok);
    download(&s, &globex, "shop", &gtok);

    // 2.
    let q = format!("kinds=download_served&product=shop&customer={initech}");
    let all = query(&s, &acme, &acme.admin, &q);
    let idx = indexes(&all);
    assert_eq!(idx.len(), 3, "{all}");
    assert!(idx.windows(2).all(|w| w[0] > w[1]), "newest first: {idx:?}");
    assert!(all["next_cursor"].is_null(), "{all}");
    for e in all["entries"].as_array().unwrap() {
        let ev: Value = serde_json::from_str(e["entry"].as_str().unwrap()).unwrap();
        assert_eq!(ev["event"]["customer_id"], initech.as_str());
        assert_eq!(ev["event"]["product"], "shop");
    }
    let p1 = query(&s, &acme, &acme.admin, &format!("{q}&limit=2"));
    assert_eq!(indexes(&p1), idx[..2]);
    let cursor = p1["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let p2 = query(
        &s,
        &acme,
        &acme.admin,
        &format!("{q}&limit=2&cursor={cursor}"),
    );
    assert_eq!(indexes(&p2), idx[2..]);
    assert!(p2["next_cursor"].is_null(), "{p2}");
    let oldest = query(&s, &acme, &acme.admin, &format!("{q}&order=oldest"));
    let mut rev = idx.clone();
    rev.reverse();
    assert_eq!(indexes(&oldest), rev);
    let later = query(
        &s,
        &acme,
        &acme.admin,
        &format!("{q}&from=2100-01-01T00:00:00Z"),
    );
    assert!(indexes(&later).is_empty(), "{later}");
    // Every kind of this customer: its creation, token and downloads.
    let any = query(
        &s,
        &acme,
        &acme.admin,
        &format!("customer={initech}&limit=1000"),
    );
    let kinds: Vec<String> = any["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_str(e["entry"].as_str().unwrap()).unwrap();
            v["event"]["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    for k in ["customer_updated", "token_issued", "download_served"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "download_served").count(),
        4,
        "{kinds:?}"
    );

    let proved = query(&s, &acme, &acme.admin, &format!("{q}&proofs=true"));
    let good = write(out.path(), "answer.json", proved.to_string());
    let (ok, stdout, stderr) = verify(&["entries", &good, "--log-key", &acme.vkey]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("3 entries"), "{stdout}");
    // Without proofs, nothing to check: it says so.
    let bare = write(out.path(), "bare.json", all.to_string());
    let (ok, _, stderr) = verify(&["entries", &bare, "--log-key", &acme.vkey]);
    assert!(!ok && stderr.contains("proofs=true"), "{stderr}");

    let tamper = |name: &str, f: &dyn Fn(&mut Value), want: &str| {
        let mut a = proved.clone();
        f(&mut a);
        let p = write(out.path(), name, a.to_string());
        let (ok, stdout, stderr) = verify(&["entries", &p, "--log-key", &acme.vkey]);
        assert!(!ok, "{name} passed: {stdout}");
        assert!(stderr.contains(want), "{name}: {stderr}");
    };
    let first = idx[0];
    tamper(
        "byte.json",
        &|a| {
            let e = a["entries"][0]["entry"]
                .as_str()
                .unwrap()
                .replace("shop", "shoq");
            a["entries"][0]["entry"] = e.into();
        },
        &format!("entry {first}: inclusion proof"),
    );
    tamper(
        "dropped.json",
        &|a| {
            a["entries"][1]
                .as_object_mut()
                .unwrap()
                .remove("inclusion_proof");
        },
        "no inclusion proof",
    );
    tamper(
        "swapped.json",
        &|a| a["entries"].as_array_mut().unwrap().swap(0, 1),
        "out of order",
    );
    // Umbrella's download, with a true proof, in Initech's answer.
    let umb = query(
        &s,
        &acme,
        &acme.admin,
        &format!("kinds=download_served&customer={umbrella}&limit=1&proofs=true&order=oldest"),
    );
    let umb_index = umb["entries"][0]["index"].as_u64().unwrap();
    let umb_entry = umb["entries"][0].clone();
    assert_eq!(umb["tree_size"], proved["tree_size"]);
    tamper(
        "unselected.json",
        &|a| {
            let arr = a["entries"].as_array_mut().unwrap();
            arr.retain(|e| e["index"].as_u64().unwrap() > umb_index);
            arr.push(umb_entry.clone());
        },
        &format!("entry {umb_index}: not selected by the query: customer"),
    );
    // globex's answer, checked with acme's key.
    let gq = query(
        &s,
        &globex,
        &globex.admin,
        "kinds=download_served&proofs=true",
    );
    let gp = write(out.path(), "globex.json", gq.to_string());
    let (ok, _, stderr) = verify(&["entries", &gp, "--log-key", &acme.vkey]);
    assert!(!ok && stderr.contains("checkpoint"), "{stderr}");

    // 3.
    let export = |fmt: &str| -> String {
        s.get(
            &format!("/api/v1/tenants/acme/audit/events?{q}&format={fmt}&proofs=true"),
            &acme.admin,
        )
        .call()
        .unwrap()
        .into_string()
        .unwrap()
    };
    let jsonl = export("jsonl");
    assert_eq!(
        jsonl.lines().count(),
        5,
        "header, 3 entries, count:\n{jsonl}"
    );
    let p = write(out.path(), "export.jsonl", &jsonl);
    let (ok, stdout, stderr) = verify(&["entries", &p, "--log-key", &acme.vkey]);
    assert!(ok && stdout.contains("3 entries"), "{stdout}{stderr}");
    let cut: Vec<&str> = jsonl.lines().take(4).collect();
    let p = write(out.path(), "cut.jsonl", cut.join("\n"));
    let (ok, _, stderr) = verify(&["entries", &p, "--log-key", &acme.vkey]);
    assert!(!ok && stderr.contains("cut short"), "{stderr}");

    let csv = export("csv");
    let p = write(out.path(), "export.csv", &csv);
    let py = Command::new("python3")
        .args([
            "-c",
            "import csv,sys,json\n\
             rows=[r for r in csv.reader(l for l in open(sys.argv[1]) if not l.startswith('#'))]\n\
             head,body=rows[0],rows[1:]\n\
             print(json.dumps([dict(zip(head,r)) for r in body]))",
            &p,
        ])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(rows.len(), 3, "{csv}");
    for r in &rows {
        assert_eq!(r["kind"], "download_served");
        assert_eq!(r["customer_id"], initech.as_str());
        assert_eq!(r["product"], "shop");
        // The leaf hash (hex) is the RFC 9162 hash of the entry the JSON
        // answer gives at that index.
        let e = all["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                Some(e["index"].as_u64().unwrap())
                    == r["index"].as_str().and_then(|i| i.parse().ok())
            })
            .unwrap_or_else(|| panic!("row {r} in the answer"));
        let want = hex::encode(evident_verify::merkle::leaf_hash(
            e["entry"].as_str().unwrap().as_bytes(),
        ));
        assert_eq!(r["leaf_hash"].as_str(), Some(want.as_str()), "{r}");
    }
    assert!(
        csv.starts_with("# evident-audit-export/v1 tree_size="),
        "{csv}"
    );
    assert!(csv.trim_end().ends_with("# end entries=3"), "{csv}");

    // 4.
    let aud: Value = s
        .post("/api/v1/tenants/acme/tokens", &acme.admin)
        .send_json(json!({"scope": "auditor"}))
        .unwrap()
        .into_json()
        .unwrap();
    let auditor = aud["token"].as_str().unwrap();
    assert_eq!(indexes(&query(&s, &acme, auditor, &q)), idx);
    let (c, v) = status(&s, &acme, &acme.push, &q);
    assert_eq!(c, 404, "{v}");
    let (c, _) = status(&s, &acme, &globex.admin, &q);
    assert_eq!(c, 404);
    for (bad, field) in [
        ("from=yesterday", "from"),
        ("limit=5000", "limit"),
        ("tag=v1", "tag"),
        ("cursor=zz", "cursor"),
        ("format=xml", "format"),
        ("kinds=Robert%27);DROP", "kinds"),
        ("colour=blue", "colour"),
    ] {
        let (c, v) = status(&s, &acme, &acme.admin, bad);
        assert_eq!(c, 422, "{bad}: {v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains(field),
            "{bad}: {v}"
        );
    }

    // A walk a page of one at a time, over two kinds, while the log grows
    // between pages: every page is read at the first page's tree size, and
    // the pages together are exactly the answer taken before the walk.
    for order in ["newest", "oldest"] {
        let q2 = format!("kinds=download_served,token_issued&customer={umbrella}&order={order}");
        let whole = query(&s, &acme, &acme.admin, &format!("{q2}&limit=1000"));
        let size = whole["tree_size"].as_u64().unwrap();
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        // Bounded: without one tree per walk, an oldest-first walk would
        // chase the downloads appended meanwhile for ever.
        for _ in 0..indexes(&whole).len() + 2 {
            let c = cursor
                .as_deref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default();
            let page = query(&s, &acme, &acme.admin, &format!("{q2}&limit=1{c}"));
            assert_eq!(page["tree_size"].as_u64(), Some(size), "{page}");
            walked.extend(indexes(&page));
            // Appended meanwhile: a download this query selects.
            download(&s, &acme, "shop", &utok);
            match page["next_cursor"].as_str() {
                Some(n) => cursor = Some(n.to_owned()),
                None => break,
            }
        }
        assert_eq!(walked, indexes(&whole), "{order}");
        assert!(walked.len() >= 3, "{order}: {walked:?}");
    }
    // A cursor naming a tree the log has not reached is refused.
    let (c, v) = status(&s, &acme, &acme.admin, "cursor=999999.1.1");
    assert_eq!(c, 422, "{v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("beyond"),
        "{v}"
    );

    // The download counters on /metrics agree with the log: one per
    // durable download_served entry, by tenant (customer tokens here).
    let metrics = s
        .get("/metrics", "m-token")
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let counted = |tenant: &str| -> u64 {
        metrics
            .lines()
            .filter(|l| {
                l.starts_with("evident_downloads_total{")
                    && l.contains(&format!("tenant=\"{tenant}\""))
            })
            .inspect(|l| assert!(l.contains("channel=\"customer_token\""), "{l}"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    for (t, token) in [(&acme, &acme.admin), (&globex, &globex.admin)] {
        let logged = indexes(&query(&s, t, token, "kinds=download_served&limit=1000")).len();
        assert_eq!(counted(&t.slug), logged as u64, "{}:\n{metrics}", t.slug);
    }
    assert!(
        metrics.contains("evident_download_bytes_total{tenant=\"acme\""),
        "{metrics}"
    );

    // 5. Statistics agree with the log.
    let stats = |token: &str, q: &str| -> (u16, Value) {
        match s
            .get(&format!("/api/v1/tenants/acme/audit/stats?{q}"), token)
            .call()
        {
            Ok(r) => (r.status(), r.into_json().unwrap()),
            Err(ureq::Error::Status(c, r)) => (c, r.into_json().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    let logged = query(&s, &acme, &acme.admin, "kinds=download_served&limit=1000");
    let events: Vec<Value> = logged["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str::<Value>(e["entry"].as_str().unwrap()).unwrap())
        .collect();
    let n = events.len() as u64;
    let count = |f: &dyn Fn(&Value) -> bool| events.iter().filter(|e| f(e)).count() as u64;
    let by = |field: &str, v: &str| {
        let (field, v) = (field.to_owned(), v.to_owned());
        move |e: &Value| e["event"][&field] == v.as_str()
    };
    let distinct = |f: &dyn Fn(&Value) -> bool| {
        let mut c: Vec<&str> = events
            .iter()
            .filter(|e| f(e))
            .map(|e| e["event"]["customer_id"].as_str().unwrap())
            .collect();
        c.sort_unstable();
        c.dedup();
        c.len() as u64
    };
    let bytes_of = |f: &dyn Fn(&Value) -> bool| -> u64 {
        events
            .iter()
            .filter(|e| f(e))
            .map(|e| {
                e["event"]["bytes"]
                    .as_u64()
                    .expect("downloads record their size")
            })
            .sum()
    };
    let (code, by_customer) = stats(auditor, "group_by=customer");
    assert_eq!(code, 200, "{by_customer}");
    let group = |v: &Value, key: &str| -> Value {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .cloned()
            .unwrap_or(Value::Null)
    };
    for id in [&initech, &umbrella] {
        let g = group(&by_customer, id);
        assert_eq!(
            g["downloads"],
            count(&by("customer_id", id)),
            "{by_customer}"
        );
        assert_eq!(g["customers"], 1);
        assert_eq!(
            g["bytes"],
            bytes_of(&|e| e["event"]["customer_id"] == id.as_str()),
            "{by_customer}"
        );
    }
    assert_eq!(by_customer["total"]["downloads"], n);
    assert_eq!(by_customer["total"]["customers"], distinct(&|_| true));
    assert_eq!(by_customer["total"]["bytes"], bytes_of(&|_| true));
    let (_, by_product) = stats(&acme.admin, "group_by=product");
    for product in ["shop", "tools"] {
        let g = group(&by_product, product);
        assert_eq!(
            g["downloads"],
            count(&by("product", product)),
            "{by_product}"
        );
        assert_eq!(
            g["customers"],
            distinct(&by("product", product)),
            "{by_product}"
        );
    }
    let (_, by_channel) = stats(&acme.admin, "group_by=channel");
    assert_eq!(by_channel["groups"].as_array().unwrap().len(), 1);
    assert_eq!(group(&by_channel, "customer_token")["downloads"], n);
    let (_, by_month) = stats(&acme.admin, "group_by=month");
    let this_month = &by_month["to"].as_str().unwrap()[..7];
    let month = group(&by_month, this_month);
    let month = if month.is_null() {
        // Run just before midnight on a month's last day: `to` is tomorrow.
        by_month["groups"][0].clone()
    } else {
        month
    };
    assert_eq!(month["downloads"], n, "{by_month}");
    // Globex's downloads are its own.
    let g: Value = s
        .get(
            "/api/v1/tenants/globex/audit/stats?group_by=product",
            &globex.admin,
        )
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(g["total"]["downloads"], 1);
    // Who may ask, and bad parameters.
    assert_eq!(stats(&acme.push, "group_by=product").0, 404);
    assert_eq!(stats(&globex.admin, "group_by=product").0, 404);
    for q in [
        "group_by=planet",
        "from=2026-02-30",
        "from=2026-01-02&to=2026-01-01",
        "bogus=1",
    ] {
        let (code, e) = stats(&acme.admin, q);
        assert_eq!(code, 422, "{q}: {e}");
        assert!(e["message"].is_string(), "{e}");
    }
    // Unusual: every customer with more than ten downloads today (its
    // 30-day median is 0, counted as 1), and no one else.
    let u: Value = s
        .get("/api/v1/tenants/acme/audit/unusual", auditor)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let mut flagged: Vec<&str> = u
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    flagged.sort_unstable();
    let mut want: Vec<&str> = [initech.as_str(), umbrella.as_str()]
        .into_iter()
        .filter(|id| count(&by("customer_id", id)) > 10)
        .collect();
    want.sort_unstable();
    assert_eq!(flagged, want, "{u}");
    assert!(!want.is_empty(), "the test downloads enough to flag one");
    // The statistics page, in Chromium.
    let cfg = write(
        out.path(),
        "stats.json",
        json!({"base": s.url, "tenant": "acme", "admin_token": acme.admin, "customer": initech, "out": out.path()})
            .to_string(),
    );
    let res = Command::new("node")
        .arg(common::interop().join("stats_browser.mjs"))
        .arg(&cfg)
        .env("NODE_PATH", common::interop().join("node_modules"))
        .current_dir(common::interop())
        .output()
        .expect("node (installed by .ci/setup)");
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        res.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(seen["error"].is_null(), "{seen}");
    assert_eq!(seen["scripts"], 0, "no script on the page");
    assert_eq!(seen["total"], n.to_string());
    let bars = seen["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 12, "{seen}");
    let drawn: Vec<&Value> = bars
        .iter()
        .filter(|b| b["downloads"].as_u64() > Some(0))
        .collect();
    assert_eq!(drawn.len(), 1, "{seen}");
    assert_eq!(drawn[0]["downloads"], n);
    assert!(drawn[0]["height"].as_f64().unwrap() > 100.0, "{seen}");
    let px = &seen["bar_pixels"];
    assert!(
        px["bar"].as_u64().unwrap() > 1000,
        "the screenshot shows the bar: {px}"
    );
    assert!(std::path::Path::new(seen["screenshot"].as_str().unwrap()).exists());
    let row = |table: &str, first: &str| -> Vec<String> {
        seen[table]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0].as_str().unwrap().starts_with(first))
            .unwrap_or_else(|| panic!("{table} has no {first}: {seen}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    for product in ["shop", "tools"] {
        assert_eq!(
            row("top_products", product)[1..3],
            [
                count(&by("product", product)).to_string(),
                distinct(&by("product", product)).to_string()
            ]
        );
    }
    for (name, id) in [("Initech", &initech), ("Umbrella", &umbrella)] {
        let r = row("top_customers", name);
        assert!(r[0].contains(id.as_str()), "{r:?}");
        assert_eq!(r[1], count(&by("customer_id", id)).to_string());
    }
    let listed = seen["unusual"].as_array().unwrap();
    assert_eq!(listed.len(), want.len(), "{seen}");
    for id in &want {
        assert!(
            listed.iter().any(|l| l.as_str().unwrap().contains(id)),
            "{seen}"
        );
    }

    // The trail page, filtered as the API is: the same entries, newest first.
    let api_page = query(
        &s,
        &acme,
        &acme.admin,
        &format!("kinds=download_served&customer={initech}&limit=50"),
    );
    let shown: Vec<u64> = seen["trail_downloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(shown, indexes(&api_page), "{seen}");
    assert!(seen["trail_downloads"][0][2]
        .as_str()
        .unwrap()
        .contains("download_served"));
    assert!(seen["trail_downloads"][0][3]
        .as_str()
        .unwrap()
        .contains(&initech));
    assert_eq!(
        seen["trail_next"],
        u64::from(api_page["next_cursor"].is_string())
    );
    let csv_link = seen["trail_csv"].as_str().unwrap();
    assert!(
        csv_link.contains("format=csv") && csv_link.contains(&format!("customer={initech}")),
        "{csv_link}"
    );
    // The browser's sign-in, sign-out and failed sign-in are in the log.
    let sign_ins = query(&s, &acme, &acme.admin, "kinds=signed_in");
    assert_eq!(indexes(&sign_ins).len(), 1, "{sign_ins}");
    assert_eq!(
        seen["trail_sign_ins"].as_array().unwrap().len(),
        1,
        "{seen}"
    );
    let ev = |a: &Value, i: usize| -> Value {
        serde_json::from_str(a["entries"][i]["entry"].as_str().unwrap()).unwrap()
    };
    let signed_in = ev(&sign_ins, 0);
    assert_eq!(signed_in["event"]["method"], "token");
    assert_eq!(signed_in["actor"]["scope"], "admin");
    let ended = query(&s, &acme, &acme.admin, "kinds=session_ended");
    assert_eq!(ev(&ended, 0)["event"]["reason"], "sign_out");
    assert_eq!(
        ev(&ended, 0)["event"]["session"],
        signed_in["event"]["session"]
    );
    assert!(seen["after_bad_token"]
        .as_str()
        .unwrap()
        .contains("not valid"));
    let failed = query(&s, &acme, &acme.admin, "kinds=sign_in_failed");
    assert_eq!(
        indexes(&failed).len(),
        1,
        "the second failure of the minute waits to be aggregated: {failed}"
    );
    let f = ev(&failed, 0);
    assert_eq!(
        (f["event"]["method"].as_str(), f["event"]["count"].as_u64()),
        (Some("token"), Some(1))
    );
    assert!(
        !f.to_string().contains("wrongwrong"),
        "no secret in the log"
    );

    // 6.
    s.stop();
    let audit = Command::new(evident_bin())
        .args(["log", "audit", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("EVIDENT_MASTER_KEY", "11".repeat(32))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success(), "{text}");
    assert!(
        text.matches("audit index: ").count() >= 2 && text.contains("agree with the log"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{n} downloads, agree with the log")),
        "{text}"
    );
}
