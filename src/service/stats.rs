//! Download statistics for auditors and admins: counts of downloads,
//! distinct customers and bytes served, grouped by month, day, product,
//! tag, customer, artefact, format or channel, over whole UTC days. They
//! are read from the counters the append batches keep (`store::stats`): a
//! query reads, per group, one counter for each whole month of its range
//! and one for each day at its edges, never the log; distinct customers
//! are the union of the customer sets those counters hold. The "unusual
//! activity" list reads the daily per-customer counters.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::{
    core::{
        clock::now_unix,
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::{blocking, AppState},
    store::{
        audit::Span,
        keys::{self, AuditDim},
        stats::{customer_of, periods, Dim, Period, Scope},
    },
};

/// The longest range one query covers, days (ten years).
pub const MAX_DAYS: u32 = 3660;

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Calendar month (UTC), `YYYY-MM`.
    Month,
    /// Day (UTC), `YYYY-MM-DD`.
    Day,
    /// Product.
    Product,
    /// Product and tag, `product@tag`.
    Tag,
    /// Customer id (share-link and tenant-token downloads are `-`).
    Customer,
    /// Export or NOTICE format (`-` for files without one).
    Format,
    /// `customer_token`, `sso`, `share_link`, `tenant_token`, `operator`.
    Channel,
    /// `export`, `notice`, `kit`, `signature`, …
    Artifact,
}

/// A statistics query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// `month` (default), `day`, `product`, `tag`, `customer`, `format`,
    /// `channel` or `artifact`.
    pub group_by: Option<GroupBy>,
    /// The first day counted: `YYYY-MM-DD` or an RFC 3339 time (its UTC
    /// day). Default: the first of the month eleven months ago.
    pub from: Option<String>,
    /// The day after the last one counted (exclusive): `YYYY-MM-DD`, or an
    /// RFC 3339 time (a time after midnight counts its whole day). Default:
    /// tomorrow (UTC), so today is counted.
    pub to: Option<String>,
    /// Only this product (with `group_by` month, day, product, tag or
    /// customer).
    pub product: Option<String>,
}

/// One group's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    /// The group (see `group_by`); empty for the total.
    pub key: String,
    /// Downloads.
    pub downloads: u64,
    /// Distinct customers among them (share links and tenant tokens are not customers).
    pub customers: u64,
    /// Bytes served (downloads logged before sizes were recorded count 0).
    pub bytes: u64,
}

/// The answer of `GET …/audit/stats`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    /// Tenant.
    pub tenant: String,
    /// What the groups are.
    pub group_by: GroupBy,
    /// The first day counted, `YYYY-MM-DD`.
    pub from: String,
    /// The day after the last one counted, `YYYY-MM-DD`.
    pub to: String,
    /// The groups with at least one download, in key order (months and
    /// days in time order).
    pub groups: Vec<Group>,
    /// All of them together.
    pub total: Group,
    /// How many counters the query read (its cost).
    pub counters: u64,
    /// How many customer-set members those counters held.
    pub members: u64,
}

fn day_of(s: &str, round_up: bool) -> Result<u32, Error> {
    let secs = if s.len() == 10 {
        let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|e| Error::Unprocessable(format!("{s:?} is not a date YYYY-MM-DD: {e}")))?;
        d.midnight().assume_utc().unix_timestamp()
    } else {
        let t = evident_verify::audit::bound_seconds(s).map_err(Error::Unprocessable)?;
        if round_up {
            t + 86_399
        } else {
            t
        }
    };
    let day = u32::try_from(secs.div_euclid(86_400))
        .map_err(|_| Error::Unprocessable(format!("{s:?} is before 1970")))?;
    if day > LAST_DAY {
        return Err(Error::Unprocessable(format!("{s:?} is after 9999-12-30")));
    }
    Ok(day)
}

/// The last day a range may reach: 9999-12-31 (as the exclusive `to`).
const LAST_DAY: u32 = 2_932_896;

/// `YYYY-MM-DD` of a day number (days past 9999-12-31 are that day).
pub fn date(day: u32) -> String {
    let d = time::OffsetDateTime::UNIX_EPOCH
        .checked_add(time::Duration::days(i64::from(day.min(LAST_DAY))))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The first day of the month eleven months before `day`'s.
fn year_back(day: u32) -> u32 {
    let d = (time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(i64::from(day))).date();
    let (mut y, mut m) = (d.year(), u8::from(d.month()) as i32 - 11);
    if m < 1 {
        m += 12;
        y -= 1;
    }
    let first =
        time::Date::from_calendar_date(y, time::Month::try_from(m as u8).expect("1..=12"), 1)
            .expect("a valid date");
    (first.midnight().assume_utc().unix_timestamp() / 86_400) as u32
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_owned()
    } else {
        s.to_owned()
    }
}

/// The label of a period in a month or day grouping.
fn period_label(g: GroupBy, p: Period) -> String {
    match p {
        Period::Day(d) if g == GroupBy::Day => date(d),
        Period::Day(d) => date(d)[..7].to_owned(),
        Period::Month(m) => date(crate::store::stats::first_day(m))[..7].to_owned(),
    }
}

/// The tenant's log, for a principal that may read its statistics (admin,
/// auditor), once its counters cover the whole log (else 503).
fn counted_log(state: &AppState, p: &Principal, tenant: &str) -> Result<evident_log::Log, Error> {
    allow(p, Action::ReadLogEntries, Resource::Tenant(tenant))?;
    let log = state.tenant_log(tenant)?;
    if !state.store().stats_ready(tenant)? {
        return Err(Error::Unavailable(
            "the statistics of this log are still being counted; try again shortly".into(),
        ));
    }
    Ok(log)
}

/// The statistics `q` asks for (admin, auditor).
pub fn stats(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    q: &StatsQuery,
) -> Result<Stats, Error> {
    counted_log(state, p, tenant)?;
    let today = (now_unix().div_euclid(86_400)) as u32;
    let to =
        q.to.as_deref()
            .map(|s| day_of(s, true))
            .transpose()?
            .unwrap_or(today + 1);
    let from = q
        .from
        .as_deref()
        .map(|s| day_of(s, false))
        .transpose()?
        .unwrap_or_else(|| year_back(to.saturating_sub(1)));
    if from >= to {
        return Err(Error::Unprocessable(format!(
            "from ({}) must be before to ({})",
            date(from),
            date(to)
        )));
    }
    if to - from > MAX_DAYS {
        return Err(Error::Unprocessable(format!(
            "a query covers at most {MAX_DAYS} days; this one covers {}",
            to - from
        )));
    }
    let group_by = q.group_by.unwrap_or(GroupBy::Month);
    let product = q.product.as_deref();
    if let Some(p) = product {
        crate::core::names::check_product(p)?;
    }
    let (dim, scope) = match (group_by, product) {
        (GroupBy::Month | GroupBy::Day, p) => (Dim::Total, p.map_or(Scope::All, Scope::Product)),
        (GroupBy::Product, p) => (Dim::Total, p.map_or(Scope::EachProduct, Scope::Product)),
        (GroupBy::Tag, p) => (Dim::Tag, p.map_or(Scope::EachProduct, Scope::Product)),
        (GroupBy::Customer, p) => (Dim::Who, p.map_or(Scope::All, Scope::Product)),
        (GroupBy::Format, None) => (Dim::Format, Scope::All),
        (GroupBy::Channel, None) => (Dim::Channel, Scope::All),
        (GroupBy::Artifact, None) => (Dim::Artifact, Scope::All),
        (_, Some(_)) => {
            return Err(Error::Unprocessable(
                "product combines with group_by month, day, product, tag or customer".into(),
            ))
        }
    };
    let total_scope = product.map_or(Scope::All, Scope::Product);
    let mut groups: BTreeMap<String, (Group, HashSet<Vec<u8>>)> = BTreeMap::new();
    let mut total = (Group::default(), HashSet::new());
    let (mut counters, mut members) = (0u64, 0u64);
    let add = |(g, seen): &mut (Group, HashSet<Vec<u8>>),
               c: &evident_log::CounterRef<'_>,
               members: &mut u64| {
        // Wrapping, as the merge adds: a corrupt counter is named by
        // `evident log audit`, never a panic here.
        g.downloads = g.downloads.wrapping_add(c.tally[0]);
        g.bytes = g.bytes.wrapping_add(c.tally[1]);
        for m in c.members() {
            *members += 1;
            if !seen.contains(m) {
                seen.insert(m.to_vec());
            }
        }
    };
    let ps = match group_by {
        GroupBy::Day => (from..to).map(Period::Day).collect(),
        _ => periods(from, to),
    };
    let db = state.store();
    // Month and day groups read the total's own counters: the total is
    // their sum, read once.
    let by_period = matches!(group_by, GroupBy::Month | GroupBy::Day);
    for p in ps {
        if !by_period {
            db.stats_rows(tenant, p, Dim::Total, total_scope, |_, _, c| {
                counters += 1;
                add(&mut total, &c, &mut members);
                true
            })?;
        }
        db.stats_rows(tenant, p, dim, scope, |prod, value, c| {
            counters += 1;
            let key = match group_by {
                GroupBy::Month | GroupBy::Day => period_label(group_by, p),
                GroupBy::Product => prod.to_owned(),
                GroupBy::Tag => format!("{prod}@{value}"),
                GroupBy::Customer => or_dash(customer_of(value).unwrap_or_default()),
                GroupBy::Format => or_dash(value),
                GroupBy::Channel | GroupBy::Artifact => value.to_owned(),
            };
            if by_period {
                let mut ignored = 0;
                add(&mut total, &c, &mut ignored);
            }
            let g = groups.entry(key).or_default();
            add(g, &c, &mut members);
            // A "who" counter is its customer (it holds no set).
            if let Some(cust) = (group_by == GroupBy::Customer)
                .then(|| customer_of(value))
                .flatten()
            {
                g.1.insert(cust.as_bytes().to_vec());
            }
            true
        })?;
    }
    let finish = |(mut g, seen): (Group, HashSet<Vec<u8>>), key: String| {
        g.key = key;
        g.customers = seen.len() as u64;
        g
    };
    Ok(Stats {
        tenant: tenant.to_owned(),
        group_by,
        from: date(from),
        to: date(to),
        groups: groups
            .into_iter()
            .filter(|(_, (g, _))| g.downloads > 0)
            .map(|(k, v)| finish(v, k))
            .collect(),
        total: finish(total, String::new()),
        counters,
        members,
    })
}

/// [`stats`] on the blocking pool: a long range over a busy log reads many
/// counters, which must not hold up the async workers.
pub async fn stats_off_thread(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    q: StatsQuery,
) -> Result<Stats, Error> {
    let (st, p, t) = (state.clone(), p.clone(), tenant.to_owned());
    blocking("statistics", move || stats(&st, &p, &t, &q)).await
}

/// [`unusual`] on the blocking pool.
pub async fn unusual_off_thread(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    days: u32,
) -> Result<Vec<Unusual>, Error> {
    let (st, p, t) = (state.clone(), p.clone(), tenant.to_owned());
    blocking("unusual activity", move || unusual(&st, &p, &t, days)).await
}

/// Something in the statistics worth a look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unusual {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// `customer` or `share_link` (a spike in downloads),
    /// `share_link_addresses` (a link used from many client addresses), or
    /// `sign_in` (failed sign-ins).
    pub subject_kind: String,
    /// The customer id, the share link id, or the sign-in method (`oidc`,
    /// `token`).
    pub subject: String,
    /// Its downloads (or failed sign-ins, or a link's client addresses)
    /// that day.
    pub count: u64,
    /// The median of its daily downloads over the 30 days before (0 for
    /// failed sign-ins).
    pub median: u64,
    /// Why it is listed.
    pub reason: String,
}

/// A day's downloads at least this many times the median (of at least 1)
/// is unusual …
pub const SPIKE_FACTOR: u64 = 10;
/// … when there are at least this many of them.
pub const SPIKE_MIN: u64 = 10;
/// Failed sign-ins of one method in a day from this many on are a burst.
pub const FAILED_SIGN_IN_BURST: u64 = 20;
/// A share link used from this many client addresses in a day (or more).
pub const SHARE_LINK_CLIENTS: u64 = 10;

/// Customers and share links whose downloads on one of the last `days` days
/// exceed [`SPIKE_FACTOR`] times their median over the 30 days before it
/// (days without downloads count as 0, the median as at least 1), and days
/// with at least [`FAILED_SIGN_IN_BURST`] failed sign-ins of one method
/// (from the `sign_in_failed` entries, read through the audit index), and
/// share links used from at least [`SHARE_LINK_CLIENTS`] client addresses
/// in a day (the pseudonyms their `share_link_used` entries carry), newest
/// first (admin, auditor).
pub fn unusual(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    days: u32,
) -> Result<Vec<Unusual>, Error> {
    let log = counted_log(state, p, tenant)?;
    let today = (now_unix().div_euclid(86_400)) as u32;
    let first = today.saturating_sub(days.saturating_sub(1));
    let from = first.saturating_sub(30);
    // Per subject, per day, downloads (the daily "who" counters).
    let mut daily: HashMap<(bool, String), BTreeMap<u32, u64>> = HashMap::new();
    for day in from..=today {
        state.store().stats_rows(
            tenant,
            Period::Day(day),
            Dim::Who,
            Scope::All,
            |_, who, c| {
                let subject = match who.strip_prefix("link:") {
                    Some(link) => (true, link.to_owned()),
                    None if !who.is_empty() => (false, who.to_owned()),
                    None => return true,
                };
                let n = daily.entry(subject).or_default().entry(day).or_default();
                *n = n.wrapping_add(c.tally[0]);
                true
            },
        )?;
    }
    let mut out = Vec::new();
    for ((is_link, subject), per_day) in daily {
        for (&day, &n) in per_day.range(first..=today) {
            if n < SPIKE_MIN {
                continue;
            }
            let mut window: Vec<u64> = (day.saturating_sub(30)..day)
                .map(|d| per_day.get(&d).copied().unwrap_or(0))
                .collect();
            window.sort_unstable();
            let median = window.get(window.len() / 2).copied().unwrap_or(0);
            if n > SPIKE_FACTOR * median.max(1) {
                out.push(Unusual {
                    day: date(day),
                    subject_kind: if is_link { "share_link" } else { "customer" }.into(),
                    subject: subject.clone(),
                    count: n,
                    median,
                    reason: format!(
                        "{n} downloads in a day, more than {SPIKE_FACTOR} times the 30-day median of {median}"
                    ),
                });
            }
        }
    }
    // Share links used from many addresses (their clients' pseudonyms).
    for day in first..=today {
        let mut many = Vec::new();
        state.store().stats_rows(
            tenant,
            Period::Day(day),
            Dim::Clients,
            Scope::All,
            |_, link, c| {
                let clients = c.members().count() as u64;
                if clients >= SHARE_LINK_CLIENTS {
                    many.push((link.to_owned(), clients, c.tally[0]));
                }
                true
            },
        )?;
        for (link, clients, uses) in many {
            out.push(Unusual {
                day: date(day),
                subject_kind: "share_link_addresses".into(),
                subject: link,
                count: clients,
                median: 0,
                reason: format!(
                    "used from {clients} client addresses in a day ({uses} downloads; {SHARE_LINK_CLIENTS} or more are listed)"
                ),
            });
        }
    }
    // Failed sign-ins, per day and method.
    let term = keys::audit_term(tenant, AuditDim::Kind, b"sign_in_failed");
    let span = Span {
        from: u64::from(first) * 86_400,
        ..Span::default()
    };
    let mut at = Vec::new();
    state.store().audit_scan(&term, span, |(_, i)| {
        at.push(i);
        true
    })?;
    let mut failed: BTreeMap<(u32, String), u64> = BTreeMap::new();
    for i in at {
        let Some(leaf) = log.entries(i, i + 1, 1)?.pop() else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap_or_default();
        let Some(t) = v["time"]
            .as_str()
            .and_then(|t| evident_verify::audit::unix_seconds(t).ok())
        else {
            continue;
        };
        let method = v["event"]["method"].as_str().unwrap_or_default().to_owned();
        *failed
            .entry(((t.div_euclid(86_400)) as u32, method))
            .or_default() += v["event"]["count"].as_u64().unwrap_or(1);
    }
    for ((day, method), n) in failed {
        if n >= FAILED_SIGN_IN_BURST {
            out.push(Unusual {
                day: date(day),
                subject_kind: "sign_in".into(),
                subject: method,
                count: n,
                median: 0,
                reason: format!(
                    "{n} failed sign-ins in a day (a burst is {FAILED_SIGN_IN_BURST} or more)"
                ),
            });
        }
    }
    out.sort_by(|a, b| b.day.cmp(&a.day).then(b.count.cmp(&a.count)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::Scope;
    use serde_json::json;
    use std::collections::BTreeSet;

    /// One download as a raw leaf at `day` (days since the epoch).
    fn leaf(day: u32, who: &str, product: &str, format: &str, bytes: u64) -> Vec<u8> {
        let time = crate::core::clock::rfc3339(i64::from(day) * 86_400 + 3600);
        let (actor, event_kind, extra) = match who.strip_prefix("link:") {
            Some(link) => (
                json!({"type": "share_link", "link_id": link}),
                "share_link_used",
                json!({"link_id": link, "use": 1}),
            ),
            None if who.is_empty() => (
                json!({"type": "token", "token_id": "t0", "scope": "admin"}),
                "download_served",
                json!({"subject": {"type": "token", "token_id": "t0"}}),
            ),
            None => (
                json!({"type": "customer", "customer_id": who, "subject": {"type": "oidc", "issuer": "https://idp.example", "subject": "u"}}),
                "download_served",
                json!({"customer_id": who, "subject": {"type": "oidc", "issuer": "https://idp.example", "subject": "u"}}),
            ),
        };
        let mut event = json!({"kind": event_kind, "product": product, "tag": "v1", "revision": 1,
            "artifact": "export", "format": format, "sha256": "00", "bytes": bytes});
        for (k, v) in extra.as_object().unwrap() {
            event[k] = v.clone();
        }
        serde_jcs::to_vec(
            &json!({"v": 1, "time": time, "tenant": "acme", "actor": actor, "event": event}),
        )
        .unwrap()
    }

    fn auditor() -> Principal {
        Principal::Tenant {
            tenant: "acme".into(),
            token_id: "a1".into(),
            scope: Scope::Auditor,
        }
    }

    /// The statistics agree with a naive count over the same downloads for
    /// every grouping and a product filter; the unusual list names the
    /// spikes and nothing else; `stats_check` agrees, names a counter that
    /// drifted, and a log counted afresh (as one from before the counters)
    /// is counted exactly as its batches counted it.
    #[tokio::test]
    async fn counts_agree_with_a_naive_count_and_spikes_are_listed() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = crate::service::tenancy::state_with_acme(d.path()).await;
        let log = st.log("acme").unwrap();
        let today = (now_unix() / 86_400) as u32;
        let mut all: Vec<(u32, String, String, String, u64)> = Vec::new();
        // c1: one a day for 30 days, then 25 yesterday (a spike); c2: three
        // a day (never a spike); link L1: 12 today after nothing (a spike);
        // a tenant token: 2 today; a product filter's other product.
        for back in 2..32u32 {
            all.push((
                today - back,
                "c1".into(),
                "shop".into(),
                "cyclonedx-json".into(),
                100,
            ));
        }
        for _ in 0..25 {
            all.push((today - 1, "c1".into(), "shop".into(), "spdx-json".into(), 7));
        }
        for back in 0..40u32 {
            for _ in 0..3 {
                all.push((
                    today - back,
                    "c2".into(),
                    "app".into(),
                    "cyclonedx-xml".into(),
                    10,
                ));
            }
        }
        for _ in 0..12 {
            all.push((
                today,
                "link:L1".into(),
                "shop".into(),
                "cyclonedx-json".into(),
                1,
            ));
        }
        for _ in 0..2 {
            all.push((today, String::new(), "app".into(), "spdx-json".into(), 5));
        }
        for (day, who, product, format, bytes) in &all {
            log.append(leaf(*day, who, product, format, *bytes))
                .await
                .unwrap();
        }
        let p = auditor();
        let naive = |g: GroupBy, product: Option<&str>, from: u32| {
            let mut m: BTreeMap<String, (u64, u64, BTreeSet<String>)> = BTreeMap::new();
            for (day, who, prod, format, bytes) in &all {
                if product.is_some_and(|p| p != prod) || *day < from {
                    continue;
                }
                let customer =
                    (!who.is_empty() && !who.starts_with("link:")).then_some(who.clone());
                let key = match g {
                    GroupBy::Month => date(*day)[..7].to_owned(),
                    GroupBy::Day => date(*day),
                    GroupBy::Product => prod.clone(),
                    GroupBy::Tag => format!("{prod}@v1"),
                    GroupBy::Customer => customer.clone().unwrap_or_else(|| "-".into()),
                    GroupBy::Format => format.clone(),
                    GroupBy::Channel => match (who.is_empty(), who.starts_with("link:")) {
                        (true, _) => "tenant_token".into(),
                        (_, true) => "share_link".into(),
                        _ => "sso".into(),
                    },
                    GroupBy::Artifact => "export".into(),
                };
                let e = m.entry(key).or_default();
                e.0 += 1;
                e.1 += bytes;
                e.2.extend(customer);
            }
            m.into_iter()
                .map(|(key, (downloads, bytes, c))| Group {
                    key,
                    downloads,
                    bytes,
                    customers: c.len() as u64,
                })
                .collect::<Vec<_>>()
        };
        let from = today - 45;
        for g in [
            GroupBy::Month,
            GroupBy::Day,
            GroupBy::Product,
            GroupBy::Tag,
            GroupBy::Customer,
            GroupBy::Format,
            GroupBy::Channel,
            GroupBy::Artifact,
        ] {
            for product in [None, Some("shop")] {
                let q = StatsQuery {
                    group_by: Some(g),
                    from: Some(date(from)),
                    to: None,
                    product: product.map(str::to_owned),
                };
                let s = match stats(&st, &p, "acme", &q) {
                    Err(Error::Unprocessable(_))
                        if product.is_some()
                            && matches!(
                                g,
                                GroupBy::Format | GroupBy::Channel | GroupBy::Artifact
                            ) =>
                    {
                        continue
                    }
                    r => r.unwrap(),
                };
                assert_eq!(s.groups, naive(g, product, from), "{g:?} {product:?}");
                let sum: u64 = s.groups.iter().map(|g| g.downloads).sum();
                assert_eq!(s.total.downloads, sum);
                let everything = naive(GroupBy::Channel, product, from);
                let customers: BTreeSet<&str> = all
                    .iter()
                    .filter(|e| e.0 >= from && product.is_none_or(|p| p == e.2))
                    .filter_map(|e| crate::store::stats::customer_of(&e.1))
                    .collect();
                assert_eq!(
                    s.total.customers,
                    customers.len() as u64,
                    "{g:?} {product:?}"
                );
                assert_eq!(
                    s.total.bytes,
                    everything.iter().map(|g| g.bytes).sum::<u64>()
                );
            }
        }
        // A range that starts later sees fewer days; bad ranges are 422.
        let q = StatsQuery {
            group_by: Some(GroupBy::Day),
            from: Some(date(today)),
            ..Default::default()
        };
        assert_eq!(
            stats(&st, &p, "acme", &q).unwrap().groups,
            naive(GroupBy::Day, None, today)
        );
        assert!(matches!(
            stats(
                &st,
                &p,
                "acme",
                &StatsQuery {
                    to: Some("9999-12-31T00:00:01Z".into()),
                    ..Default::default()
                }
            ),
            Err(Error::Unprocessable(_))
        ));
        assert_eq!(date(LAST_DAY), "9999-12-31");
        for (from, to) in [
            ("2026-13-01", None),
            ("2026-01-02", Some("2026-01-01")),
            ("1990-01-01", Some("2026-01-01")),
            ("yesterday", None),
        ] {
            let q = StatsQuery {
                from: Some(from.into()),
                to: to.map(Into::into),
                ..Default::default()
            };
            assert!(
                matches!(stats(&st, &p, "acme", &q), Err(Error::Unprocessable(_))),
                "{from}"
            );
        }
        // An empty or malformed product is refused, never read as "all".
        for bad in ["", "../x"] {
            let q = StatsQuery {
                group_by: Some(GroupBy::Product),
                product: Some(bad.into()),
                ..Default::default()
            };
            assert!(
                matches!(stats(&st, &p, "acme", &q), Err(Error::Unprocessable(_))),
                "{bad:?}"
            );
        }
        // Push tokens and customers may not read them.
        let push = Principal::Tenant {
            tenant: "acme".into(),
            token_id: "p".into(),
            scope: Scope::Push,
        };
        assert!(matches!(
            stats(&st, &push, "acme", &StatsQuery::default()),
            Err(Error::NotFound(_))
        ));

        // A burst of failed sign-ins today (one immediate entry, and the
        // rest of the minute as one counted entry).
        for _ in 0..25 {
            crate::service::trail::sign_in_failed(&st, "acme", "token", "not valid").await;
        }
        crate::service::trail::flush_failures_at(&st, now_unix() + 60).await;
        let u = unusual(&st, &p, "acme", 7).unwrap();
        let named: Vec<(&str, &str, u64)> = u
            .iter()
            .map(|u| (u.subject_kind.as_str(), u.subject.as_str(), u.count))
            .collect();
        assert_eq!(
            named,
            [
                ("sign_in", "token", 25),
                ("share_link", "L1", 12),
                ("customer", "c1", 25)
            ],
            "{u:?}"
        );
        assert_eq!(u[2].median, 1);

        // The check agrees; a drifted counter is named.
        let db = st.store();
        assert!(db
            .stats_check(&log)
            .unwrap()
            .unwrap()
            .contains("agree with the log"));
        use crate::store::stats::{counter_key, Dim, Period};
        let key = counter_key("acme", Period::Day(today), Dim::Format, "", "cyclonedx-xml");
        db.store()
            .add_counters(
                &[(key.clone(), evident_log::Counter::add([1, 0], None))],
                &[],
            )
            .unwrap();
        let problems = db.stats_check(&log).unwrap().unwrap_err();
        assert!(
            problems[0].contains("holds 4 downloads") && problems[0].contains("the log has 3"),
            "{problems:?}"
        );
        db.store()
            .add_counters(
                &[(key.clone(), evident_log::Counter::add([u64::MAX, 0], None))],
                &[],
            )
            .unwrap();
        assert!(db.stats_check(&log).unwrap().is_ok());
        // A customer the log does not have in that counter is named too.
        db.store()
            .add_counters(
                &[(key, evident_log::Counter::add([0, 0], Some(b"c9")))],
                &[],
            )
            .unwrap();
        let problems = db.stats_check(&log).unwrap().unwrap_err();
        assert!(
            problems[0].contains("1 customers not in the log"),
            "{problems:?}"
        );

        // As a log from before the counters: the counters and the marker
        // gone; prepared and counted afresh.
        db.stats_forget("acme").unwrap();
        // Counters of the first layout (one per day and cell) are deleted
        // when the log is prepared.
        db.store()
            .add_counters(
                &[(
                    b"stats/acme\0cell".to_vec(),
                    evident_log::Counter::add([7, 0], None),
                )],
                &[(b"stats-ready/acme".to_vec(), Some(Vec::new()))],
            )
            .unwrap();
        assert!(matches!(
            stats(&st, &p, "acme", &StatsQuery::default()),
            Err(Error::Unavailable(_))
        ));
        assert!(db
            .stats_check(&log)
            .unwrap()
            .unwrap()
            .contains("being counted"));
        db.stats_prepare(&log).unwrap();
        let mut old = 0;
        db.store()
            .counters_in(b"stats/acme\0", b"stats/acme\x01", |_, _| {
                old += 1;
                true
            })
            .unwrap();
        assert_eq!(old, 0);
        assert_eq!(db.store().app_get(b"stats-ready/acme").unwrap(), None);
        assert_eq!(db.stats_backfill(&log).unwrap(), log.size());
        assert!(db.stats_check(&log).unwrap().is_ok());
        let q = StatsQuery {
            group_by: Some(GroupBy::Customer),
            from: Some(date(from)),
            ..Default::default()
        };
        assert_eq!(
            stats(&st, &p, "acme", &q).unwrap().groups,
            naive(GroupBy::Customer, None, from)
        );
        // The cost is counters, not entries: more downloads of the same
        // kinds read the same counters, and a year's months by product read
        // one per product and period (plus one total per period).
        for g in [GroupBy::Month, GroupBy::Product, GroupBy::Customer] {
            let q = StatsQuery {
                group_by: Some(g),
                from: Some(date(from)),
                ..Default::default()
            };
            let before = stats(&st, &p, "acme", &q).unwrap();
            for _ in 0..50 {
                log.append(leaf(today, "c2", "app", "cyclonedx-xml", 10))
                    .await
                    .unwrap();
            }
            let after = stats(&st, &p, "acme", &q).unwrap();
            assert_eq!(after.total.downloads, before.total.downloads + 50);
            assert_eq!(after.counters, before.counters, "{g:?}");
        }
        let periods = crate::store::stats::periods(from, today + 1).len() as u64;
        let q = StatsQuery {
            group_by: Some(GroupBy::Product),
            from: Some(date(from)),
            ..Default::default()
        };
        assert!(stats(&st, &p, "acme", &q).unwrap().counters <= periods * 3);
        // Link L2: ten uses today from ten addresses (not a spike in uses,
        // but many addresses); L3: ten uses from one address.
        for (link, clients) in [("L2", 10), ("L3", 1)] {
            for i in 0..10 {
                let mut v: serde_json::Value = serde_json::from_slice(&leaf(
                    today,
                    &format!("link:{link}"),
                    "shop",
                    "cyclonedx-json",
                    1,
                ))
                .unwrap();
                v["event"]["client"] = format!("{:016x}", i % clients).into();
                log.append(serde_jcs::to_vec(&v).unwrap()).await.unwrap();
            }
        }
        let u = unusual(&st, &p, "acme", 7).unwrap();
        let many: Vec<(&str, u64)> = u
            .iter()
            .filter(|u| u.subject_kind == "share_link_addresses")
            .map(|u| (u.subject.as_str(), u.count))
            .collect();
        assert_eq!(many, [("L2", 10)], "{u:?}");
        assert!(db.stats_check(&log).unwrap().is_ok());
    }
}
