//! Access rules that are pure functions of data: which releases a
//! customer's entitlements match (exact tags, globs, `latest`), and which
//! signed-in users an SSO binding's claim rule admits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::{events::EventBody, records::CustomerRecord, Error};

/// A claim rule: which signed-in users of an SSO binding belong to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    /// The ID token claim: `email`, `groups`, or any other claim name.
    pub claim: String,
    /// How the claim is compared.
    pub op: RuleOp,
    /// The value compared with.
    pub value: String,
    /// For an `email` rule: admit addresses the IdP does not say are
    /// verified (`email_verified` absent or false). Off by default: an
    /// unverified address proves nothing about who signed in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_unverified_email: bool,
}

/// Comparison of a [`ClaimRule`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RuleOp {
    /// A string claim ends with the value (`email` ends with `@acme.example`).
    EndsWith,
    /// A string claim equals the value.
    Equals,
    /// An array claim (such as `groups`) has the value as an element.
    Contains,
}

impl ClaimRule {
    /// Whether `claims` (the ID token's claims, with UserInfo's where the
    /// ID token lacks them) satisfy the rule. Email comparisons ignore ASCII
    /// case, and an `email` claim counts only when the IdP says
    /// `email_verified: true` (absent counts as not verified), unless the
    /// rule allows unverified addresses.
    pub fn matches(&self, claims: &serde_json::Value) -> bool {
        let v = &claims[self.claim.as_str()];
        let email = self.claim == "email";
        if email
            && !self.allow_unverified_email
            && claims["email_verified"] != serde_json::Value::Bool(true)
        {
            return false;
        }
        let norm = |s: &str| {
            if email {
                s.to_ascii_lowercase()
            } else {
                s.to_owned()
            }
        };
        let want = norm(&self.value);
        match (self.op, v) {
            (RuleOp::EndsWith, serde_json::Value::String(s)) => norm(s).ends_with(&want),
            (RuleOp::Equals, serde_json::Value::String(s)) => norm(s) == want,
            (RuleOp::Contains, serde_json::Value::Array(a)) => a
                .iter()
                .any(|x| x.as_str().is_some_and(|s| norm(s) == want)),
            _ => false,
        }
    }

    /// The e-mail domain this rule selects, if it is an `email` rule that
    /// names one: the suffix of an `ends_with` rule, or the domain of the
    /// one address of an `equals` rule (used to pick a binding from the
    /// address a user types).
    pub fn email_domain(&self) -> Option<String> {
        if self.claim != "email" {
            return None;
        }
        match self.op {
            RuleOp::EndsWith => Some(self.value.trim_start_matches('@').to_ascii_lowercase()),
            RuleOp::Equals => self
                .value
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .filter(|d| !d.is_empty()),
            RuleOp::Contains => None,
        }
    }

    /// Checks the rule's shape.
    pub fn validate(&self) -> Result<(), Error> {
        if self.claim.is_empty() || self.claim.len() > 64 || self.value.is_empty() {
            return Err(Error::Unprocessable(
                "a claim rule needs a claim name (1 to 64 characters) and a non-empty value".into(),
            ));
        }
        if self.claim == "email" && self.op == RuleOp::EndsWith && !self.value.starts_with('@') {
            return Err(Error::Unprocessable(format!(
                "an email suffix must start with '@' (\"@{}\"), or \"evil{}\" would match too",
                self.value, self.value
            )));
        }
        Ok(())
    }
}

/// An entitlement: a product and a tag pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    /// Product name.
    pub product: String,
    /// An exact tag, a glob (`*` any run, `?` one character), or `latest`.
    pub tag: String,
    /// How `tag` is matched. When absent: `latest` for the word `latest`,
    /// `glob` when the tag has `*` or `?`, `exact` otherwise. Give `exact`
    /// to grant a tag literally named `latest` (or containing `*`).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<MatchKind>,
    /// For `latest`: let semver pre-releases (`1.2.0-rc.1`) be the latest.
    /// Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_prereleases: bool,
}

/// How an entitlement's tag is matched.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The tag as written.
    Exact,
    /// `*` matches any run of characters, `?` one character.
    Glob,
    /// The product's latest release (see [`latest`]); the tag must be `latest`.
    Latest,
}

/// How an entitlement's tag is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagPattern<'a> {
    /// This tag only.
    Exact(&'a str),
    /// Tags matching the glob.
    Glob(&'a str),
    /// The newest release of the product (see [`latest`]); with whether
    /// pre-releases count.
    Latest {
        /// Semver pre-releases may be the latest.
        include_prereleases: bool,
    },
}

impl Entitlement {
    /// The tag pattern.
    pub fn pattern(&self) -> TagPattern<'_> {
        let kind = self.match_kind.unwrap_or(if self.tag == "latest" {
            MatchKind::Latest
        } else if self.tag.contains(['*', '?']) {
            MatchKind::Glob
        } else {
            MatchKind::Exact
        });
        match kind {
            MatchKind::Latest => TagPattern::Latest {
                include_prereleases: self.include_prereleases,
            },
            MatchKind::Glob => TagPattern::Glob(&self.tag),
            MatchKind::Exact => TagPattern::Exact(&self.tag),
        }
    }

    /// Checks one entitlement (as [`check_entitlements`] does).
    pub fn validate(&self) -> Result<(), Error> {
        let ok = |s: &str| {
            (1..=128).contains(&s.len())
                && !s.contains('/')
                && s.chars().all(|c| !c.is_control() && !c.is_whitespace())
        };
        if !ok(&self.product) || !ok(&self.tag) {
            return Err(Error::Unprocessable(format!(
                "entitlement {}:{} needs a product and a tag pattern of 1 to 128 visible characters without '/'",
                self.product, self.tag
            )));
        }
        if self.match_kind == Some(MatchKind::Latest) && self.tag != "latest" {
            return Err(Error::Unprocessable(format!(
                "entitlement {}:{}: with \"match\": \"latest\" the tag must be \"latest\"",
                self.product, self.tag
            )));
        }
        if self.include_prereleases && !matches!(self.pattern(), TagPattern::Latest { .. }) {
            return Err(Error::Unprocessable(format!(
                "entitlement {}:{}: include_prereleases applies to latest only",
                self.product, self.tag
            )));
        }
        Ok(())
    }
}

/// Whether `tag` matches the glob (`*` any run, `?` one character).
pub fn glob_matches(glob: &str, tag: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), tag.chars().collect());
    // Iterative wildcard matching with one backtrack point: linear in practice.
    let (mut gi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some(gi);
            mark = ti;
            gi += 1;
        } else if let Some(s) = star {
            gi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

/// A tag read as semver (`1.2.3`, `v1.2.3-rc.1`), if it is one.
fn semver(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// The latest of a product's releases, given as (tag, push time of its
/// first revision). The order (docs/api.md, "Entitlements"):
/// - if any tag is semver (`1.2.3`, `v1.2.3`), the latest is the highest
///   semver tag; pre-releases (`1.3.0-rc.1`) count only with
///   `include_prereleases`, and tags that are not semver never count (one
///   `nightly` tag does not change a semver product's order);
/// - if no tag is semver, the latest is the tag pushed last (ties: the
///   greater tag).
///
/// So a product whose only semver tags are pre-releases has no latest
/// release for an entitlement that does not include them.
pub fn latest(releases: &[(String, String)], include_prereleases: bool) -> Option<&str> {
    let semvers: Vec<(semver::Version, &str)> = releases
        .iter()
        .filter_map(|(t, _)| semver(t).map(|v| (v, t.as_str())))
        .collect();
    if semvers.is_empty() {
        return releases
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
            .map(|(t, _)| t.as_str());
    }
    semvers
        .into_iter()
        .filter(|(v, _)| include_prereleases || v.pre.is_empty())
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, t)| t)
}

/// Whether one of `list` matches `product`/`tag`, given the product's
/// releases as (tag, first push time) for `latest` (a customer's
/// entitlements, or what a public portal shows).
pub fn grants(
    list: &[Entitlement],
    product: &str,
    tag: &str,
    releases: &[(String, String)],
) -> bool {
    list.iter()
        .filter(|e| e.product == product)
        .any(|e| match e.pattern() {
            TagPattern::Exact(t) => t == tag,
            TagPattern::Glob(g) => glob_matches(g, tag),
            TagPattern::Latest {
                include_prereleases,
            } => latest(releases, include_prereleases) == Some(tag),
        })
}

/// Whether one of `list` grants `product`'s `latest` (only then does
/// [`grants`] need the product's other releases).
pub fn needs_latest(list: &[Entitlement], product: &str) -> bool {
    list.iter()
        .any(|e| e.product == product && matches!(e.pattern(), TagPattern::Latest { .. }))
}

impl CustomerRecord {
    /// Whether this customer may see `product`/`tag`, given the product's
    /// releases as (tag, first push time).
    pub fn entitled(&self, product: &str, tag: &str, releases: &[(String, String)]) -> bool {
        grants(&self.entitlements, product, tag, releases)
    }

    /// Whether any entitlement of this customer to `product` is `latest`
    /// (only then are the product's other releases needed to decide).
    pub fn wants_latest(&self, product: &str) -> bool {
        needs_latest(&self.entitlements, product)
    }

    /// The `customer_updated` event: a snapshot of the customer's access
    /// (never a secret).
    pub fn event(&self, deleted: bool) -> EventBody {
        EventBody::CustomerUpdated {
            customer_id: self.id.clone(),
            name: self.name.clone(),
            entitlements: self
                .entitlements
                .iter()
                .map(|e| format!("{}:{}", e.product, e.tag))
                .collect(),
            sso: self
                .sso
                .iter()
                .map(|b| {
                    format!(
                        "{} {} {:?} {}",
                        b.issuer, b.rule.claim, b.rule.op, b.rule.value
                    )
                })
                .collect(),
            deleted,
        }
    }
}

/// Most entitlements per customer.
pub const MAX_ENTITLEMENTS: usize = 256;
/// Most SSO bindings per customer.
pub const MAX_BINDINGS: usize = 16;

/// Checks a list of entitlements (count and each one).
pub fn check_entitlements(e: &[Entitlement]) -> Result<(), Error> {
    if e.len() > MAX_ENTITLEMENTS {
        return Err(Error::Unprocessable(format!(
            "at most {MAX_ENTITLEMENTS} entitlements per customer"
        )));
    }
    e.iter().try_for_each(Entitlement::validate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        for (g, t, want) in [
            ("v1.*", "v1.2.3", true),
            ("v1.*", "v10.0", false),
            ("v1.*", "v1.", true),
            ("v?.0", "v2.0", true),
            ("v?.0", "v22.0", false),
            ("*", "anything", true),
            ("*-rc*", "v1-rc2", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("exact", "exact", true),
        ] {
            assert_eq!(glob_matches(g, t), want, "{g} {t}");
        }
    }

    #[test]
    fn latest_is_semver_when_every_tag_is_semver_else_push_time() {
        let r = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let semver = r(&[
            ("v1.10.0", "2026-01-01"),
            ("v1.9.0", "2026-02-01"),
            ("v1.10.0-rc.1", "2026-03-01"),
        ]);
        assert_eq!(latest(&semver, false), Some("v1.10.0"));
        let pre = r(&[("v1.10.0", "2026-01-01"), ("v1.11.0-rc.1", "2026-03-01")]);
        assert_eq!(
            latest(&pre, false),
            Some("v1.10.0"),
            "pre-releases do not count"
        );
        assert_eq!(latest(&pre, true), Some("v1.11.0-rc.1"), "unless asked for");
        // One non-semver tag does not switch a semver product to push order.
        let mixed = r(&[("v1.10.0", "2026-01-01"), ("nightly", "2026-02-01")]);
        assert_eq!(latest(&mixed, false), Some("v1.10.0"));
        let none_semver = r(&[("alpha", "2026-01-01"), ("beta", "2026-02-01")]);
        assert_eq!(latest(&none_semver, false), Some("beta"));
        let only_pre = r(&[("1.0.0-rc.1", "2026-01-01")]);
        assert_eq!(latest(&only_pre, false), None);
        assert_eq!(latest(&[], false), None);
    }

    #[test]
    fn claim_rules() {
        let email = ClaimRule {
            claim: "email".into(),
            op: RuleOp::EndsWith,
            value: "@acme.example".into(),
            allow_unverified_email: false,
        };
        let v = |e: &str| json!({"email": e, "email_verified": true});
        assert!(email.matches(&v("Ann@ACME.example")));
        assert!(!email.matches(&v("ann@evilacme.example")));
        assert!(!email.matches(&json!({"email": "ann@acme.example", "email_verified": false})));
        // Absent counts as not verified.
        assert!(!email.matches(&json!({"email": "ann@acme.example"})));
        assert!(!email.matches(&json!({"email": "ann@acme.example", "email_verified": "true"})));
        let lax = ClaimRule {
            allow_unverified_email: true,
            ..email.clone()
        };
        assert!(lax.matches(&json!({"email": "ann@acme.example"})));
        assert!(!email.matches(&json!({"groups": ["acme.example"]})));
        assert_eq!(email.email_domain().as_deref(), Some("acme.example"));
        let exact = ClaimRule {
            claim: "email".into(),
            op: RuleOp::Equals,
            value: "Ann@Acme.Example".into(),
            allow_unverified_email: false,
        };
        assert_eq!(exact.email_domain().as_deref(), Some("acme.example"));
        let groups = ClaimRule {
            claim: "groups".into(),
            op: RuleOp::Contains,
            value: "acme-sbom".into(),
            allow_unverified_email: false,
        };
        assert!(groups.matches(&json!({"groups": ["x", "acme-sbom"]})));
        assert!(!groups.matches(&json!({"groups": "acme-sbom"})));
        assert!(!groups.matches(&json!({})));
        assert_eq!(groups.email_domain(), None);
        let bad = ClaimRule {
            claim: "email".into(),
            op: RuleOp::EndsWith,
            value: "acme.example".into(),
            allow_unverified_email: false,
        };
        assert!(bad.validate().is_err());
    }

    fn ent(p: &str, t: &str) -> Entitlement {
        Entitlement {
            product: p.into(),
            tag: t.into(),
            match_kind: None,
            include_prereleases: false,
        }
    }

    #[test]
    fn entitlement_patterns() {
        let c = CustomerRecord {
            id: "c".into(),
            tenant: "t".into(),
            name: "n".into(),
            created_at: 0,
            sso: vec![],
            entitlements: vec![
                ent("shop", "v1.*"),
                ent("app", "latest"),
                ent("cli", "2.0.0"),
                Entitlement {
                    match_kind: Some(MatchKind::Exact),
                    ..ent("odd", "latest")
                },
            ],
        };
        let shop = vec![
            ("v1.0".to_owned(), "a".to_owned()),
            ("v2.0".to_owned(), "b".to_owned()),
        ];
        assert!(c.entitled("shop", "v1.0", &shop));
        assert!(!c.entitled("shop", "v2.0", &shop));
        let app = vec![
            ("1.0.0".to_owned(), "b".to_owned()),
            ("1.1.0".to_owned(), "a".to_owned()),
        ];
        assert!(c.entitled("app", "1.1.0", &app));
        assert!(!c.entitled("app", "1.0.0", &app));
        assert!(c.entitled("cli", "2.0.0", &[]));
        assert!(!c.entitled("cli", "2.0.1", &[]));
        assert!(!c.entitled("other", "v1.0", &shop));
        // A tag literally named `latest`, granted exactly.
        let odd = vec![
            ("latest".to_owned(), "a".to_owned()),
            ("2.0.0".to_owned(), "b".to_owned()),
        ];
        assert!(c.entitled("odd", "latest", &odd));
        assert!(!c.entitled("odd", "2.0.0", &odd));
        assert!(Entitlement {
            match_kind: Some(MatchKind::Latest),
            ..ent("x", "v1")
        }
        .validate()
        .is_err());
        assert!(Entitlement {
            include_prereleases: true,
            ..ent("x", "v1")
        }
        .validate()
        .is_err());
    }
}
