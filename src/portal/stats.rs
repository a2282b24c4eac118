//! The admin's statistics page (`/t/{t}/admin/stats`): downloads per month
//! as a server-rendered SVG bar chart (no script), with the same numbers in
//! a table, the top products and customers, and the unusual-activity list.
//! Every number comes from `service::stats`, the same call as
//! `GET …/audit/stats`, so the page and the API agree.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use maud::{html, Markup};

use crate::{
    portal::{
        pages::{error_page, tenant_page, Nav},
        signin::admin_signed_in,
    },
    service::{
        customers,
        stats::{self, Group, GroupBy, StatsQuery},
        AppState,
    },
};

/// How many rows the top lists show.
const TOP: usize = 10;

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Every month of `[from, to)` (`YYYY-MM-DD` dates), `YYYY-MM`.
fn months(from: &str, to: &str) -> Vec<String> {
    let ym =
        |s: &str| -> (i32, i32) { (s[..4].parse().unwrap_or(1970), s[5..7].parse().unwrap_or(1)) };
    let (mut y, mut m) = ym(from);
    // `to` is exclusive: its month counts only if a day of it is in range.
    let last = {
        let (ty, tm) = ym(to);
        if &to[8..10] == "01" {
            if tm == 1 {
                (ty - 1, 12)
            } else {
                (ty, tm - 1)
            }
        } else {
            (ty, tm)
        }
    };
    let mut out = Vec::new();
    while (y, m) <= last && out.len() < 240 {
        out.push(format!("{y:04}-{m:02}"));
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
    }
    out
}

/// The bar chart: one bar per month, its height the downloads.
fn chart(per_month: &[(String, u64)]) -> Markup {
    let (w, h, left, bottom, top) = (720.0f64, 260.0f64, 48.0f64, 40.0f64, 16.0f64);
    let max = per_month.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let n = per_month.len().max(1) as f64;
    let slot = (w - left - 8.0) / n;
    let plot = h - bottom - top;
    let total: u64 = per_month.iter().map(|(_, n)| n).sum();
    let label = format!(
        "Downloads per month, {} to {}: {total} in all",
        per_month.first().map_or("", |(m, _)| m.as_str()),
        per_month.last().map_or("", |(m, _)| m.as_str())
    );
    html! {
        svg #downloads-chart xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title"
            viewBox={"0 0 " (w) " " (h)} width=(w) height=(h) {
            title #chart-title { (label) }
            rect x="0" y="0" width=(w) height=(h) fill="#ffffff" {}
            line x1=(left) y1=(h - bottom) x2=(w - 8.0) y2=(h - bottom) stroke="#555" {}
            text x=(left - 6.0) y=(h - bottom) text-anchor="end" font-size="12" fill="#333" { "0" }
            text x=(left - 6.0) y=(top + 10.0) text-anchor="end" font-size="12" fill="#333" { (max) }
            @for (i, (month, count)) in per_month.iter().enumerate() {
                @let bh = plot * (*count as f64) / (max as f64);
                @let x = left + slot * i as f64 + slot * 0.15;
                rect.bar x=(format!("{x:.1}")) y=(format!("{:.1}", h - bottom - bh)) width=(format!("{:.1}", slot * 0.7))
                    height=(format!("{bh:.1}")) fill="#1f5fa8" data-month=(month) data-downloads=(count) {
                    title { (month) ": " (count) " downloads" }
                }
                text x=(format!("{:.1}", x + slot * 0.35)) y=(h - bottom + 16.0) text-anchor="middle" font-size="11" fill="#333" {
                    (&month[2..])
                }
            }
        }
    }
}

fn table(id: &str, caption: &str, first: &str, rows: &[Group]) -> Markup {
    html! {
        table id=(id) {
            caption { (caption) }
            thead { tr { th scope="col" { (first) } th scope="col" { "Downloads" } th scope="col" { "Customers" } th scope="col" { "Bytes" } } }
            tbody {
                @for g in rows {
                    tr { td { (g.key) } td { (g.downloads) } td { (g.customers) } td { (human_bytes(g.bytes)) } }
                }
            }
        }
    }
}

/// `GET /t/{tenant}/admin/stats`.
pub async fn stats_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (s, p) = match admin_signed_in(&state, &tenant, &headers) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let q = |g| StatsQuery {
        group_by: Some(g),
        ..Default::default()
    };
    let (monthly, products, mut customers, unusual, names) = match (
        stats::stats_off_thread(&state, &p, &tenant, q(GroupBy::Month)).await,
        stats::stats_off_thread(&state, &p, &tenant, q(GroupBy::Product)).await,
        stats::stats_off_thread(&state, &p, &tenant, q(GroupBy::Customer)).await,
        stats::unusual_off_thread(&state, &p, &tenant, 7).await,
        customers::records(&state, &p, &tenant),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => (a, b, c, d, e),
        (Err(e), ..)
        | (_, Err(e), ..)
        | (_, _, Err(e), ..)
        | (_, _, _, Err(e), _)
        | (.., Err(e)) => return error_page("Statistics are unavailable", &e),
    };
    // Customers by name (and id; a deleted customer keeps its id).
    for g in &mut customers.groups {
        if let Some(c) = names.iter().find(|c| c.id == g.key) {
            g.key = format!("{} ({})", c.name, c.id);
        }
    }
    let per_month: Vec<(String, u64)> = months(&monthly.from, &monthly.to)
        .into_iter()
        .map(|m| {
            let n = monthly
                .groups
                .iter()
                .find(|g| g.key == m)
                .map_or(0, |g| g.downloads);
            (m, n)
        })
        .collect();
    let top = |mut v: Vec<Group>| {
        v.sort_by(|a, b| b.downloads.cmp(&a.downloads).then(a.key.cmp(&b.key)));
        v.truncate(TOP);
        v
    };
    tenant_page(
        &state,
        &tenant,
        Nav::Admin,
        Some(&s.csrf),
        &[],
        "Download statistics",
        html! {
            p #stats-range {
                "From " (monthly.from) " up to (not including) " (monthly.to) " (UTC days): "
                strong #stats-total { (monthly.total.downloads) } " downloads by "
                (monthly.total.customers) " customers, " (human_bytes(monthly.total.bytes)) " served. "
                "The same numbers, and other groupings, at "
                code { "GET /api/v1/tenants/" (tenant) "/audit/stats?group_by=month" } "."
            }
            h2 { "Downloads per month" }
            (chart(&per_month))
            (table("per-month", "Downloads per month", "Month", &monthly.groups))
            h2 { "Top products" }
            (table("top-products", "Top products by downloads", "Product", &top(products.groups)))
            h2 { "Top customers" }
            (table("top-customers", "Top customers by downloads (\u{2013} is share links and tenant tokens)", "Customer", &top(customers.groups)))
            h2 { "Unusual activity (last 7 days)" }
            @if unusual.is_empty() {
                p #unusual-none { "Nothing unusual: no customer or share link downloaded more than ten times its 30-day median in a day, and no day had 20 or more failed sign-ins of one kind." }
            } @else {
                ul #unusual {
                    @for u in &unusual {
                        li { (u.day) ": " (u.subject_kind.replace('_', " ")) " " code { (u.subject) } ", " (u.reason) }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_range_and_to_is_exclusive() {
        assert_eq!(
            months("2026-01-01", "2026-04-01"),
            ["2026-01", "2026-02", "2026-03"]
        );
        assert_eq!(
            months("2025-11-15", "2026-02-02"),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(months("2026-12-01", "2027-01-01"), ["2026-12"]);
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(197_838), "197.8 kB");
    }

    #[test]
    fn the_chart_has_a_bar_per_month_scaled_to_the_largest() {
        let svg = chart(&[
            ("2026-01".into(), 5),
            ("2026-02".into(), 0),
            ("2026-03".into(), 10),
        ])
        .into_string();
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
        assert!(
            svg.contains("data-downloads=\"10\" height") || svg.contains("data-downloads=\"10\"")
        );
        assert!(
            svg.contains("height=\"204.0\""),
            "the largest bar fills the plot: {svg}"
        );
        assert!(svg.contains("height=\"0.0\""));
        assert!(svg.contains("15 in all"));
    }
}
