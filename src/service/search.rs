//! Search within a tenant: which releases contain a component, by package
//! URL (exact, any version of one package, or a prefix such as a Maven
//! group), or by name with an optional version range, answered from the
//! component index every push writes (`store::search`) and filtered by
//! what the caller may see.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::{
    core::{
        policy::{allow, Action, Resource},
        Error, Principal,
    },
    service::{customers, AppState},
    store::search::{By, Hit, Match},
};

/// Hits an answer has when no limit is asked for.
pub const DEFAULT_LIMIT: usize = 100;
/// The most hits one answer has.
pub const MAX_LIMIT: usize = 1000;
/// The most index keys one search reads.
pub const SCAN_BUDGET: usize = 200_000;

/// `?purl=` | `?purl_prefix=` | `?name=`, with `version=` and `limit=`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// A package URL: with a version (`pkg:maven/g/a@2.14.1`) that
    /// version, without one every version.
    #[serde(default)]
    pub purl: Option<String>,
    /// The start of package URLs (`pkg:maven/org.apache.logging.log4j/`).
    #[serde(default)]
    pub purl_prefix: Option<String>,
    /// A component name (exact).
    #[serde(default)]
    pub name: Option<String>,
    /// A version, or a semver range (`>=2.0.0, <2.17.1`) that versions
    /// must fall in (versions that are not semver match only as written).
    #[serde(default)]
    pub version: Option<String>,
    /// Hits per answer (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// One release revision that carries a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision.
    pub revision: u32,
    /// The component's name, or its purl without version.
    pub component: String,
    /// Its version (empty when it has none).
    pub version: String,
    /// Its purl, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A search's answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchAnswer {
    /// The hits, by component, version, product, tag and revision.
    pub hits: Vec<SearchHit>,
    /// More matched than the limit (or the scan's budget): narrow the
    /// query.
    pub truncated: bool,
}

/// What a version filter accepts.
enum Versions {
    Any,
    Exact(String),
    Range(semver::VersionReq, String),
}

impl Versions {
    fn parse(v: Option<&str>) -> Result<Self, Error> {
        let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Self::Any);
        };
        // A bare version is that version, as written; anything with an
        // operator is a semver range.
        if !v.starts_with(['<', '>', '=', '~', '^', '*']) && !v.contains(',') {
            return Ok(Self::Exact(v.to_owned()));
        }
        semver::VersionReq::parse(v)
            .map(|r| Self::Range(r, v.to_owned()))
            .map_err(|e| Error::Unprocessable(format!("version {v:?} is not a semver range: {e}")))
    }

    fn accepts(&self, v: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(x) => x == v,
            Self::Range(r, text) => {
                text == v
                    || semver::Version::parse(v.strip_prefix('v').unwrap_or(v))
                        .is_ok_and(|s| r.matches(&s))
            }
        }
    }
}

/// Whether the caller may see a (product, tag).
type Visible = Box<dyn Fn(&str, &str) -> bool + Send>;

/// Who may see which release: staff by scope, a customer by entitlement.
fn visibility(state: &AppState, p: &Principal, tenant: &str) -> Result<Visible, Error> {
    match p {
        Principal::Customer {
            tenant: t,
            customer,
            ..
        } if t == tenant => {
            let c = state
                .store()
                .customer(tenant, customer)?
                .ok_or_else(Error::not_found)?;
            let seen: HashSet<(String, String)> = customers::entitled_releases(state, &c)?
                .into_iter()
                .map(|(p, t, _)| (p, t))
                .collect();
            Ok(Box::new(move |p, t| {
                seen.contains(&(p.to_owned(), t.to_owned()))
            }))
        }
        Principal::Tenant { .. } => {
            let p = p.clone();
            let tenant = tenant.to_owned();
            // Staff: the scope decides, the same for every release.
            let ok = allow(
                &p,
                Action::ReadRelease,
                Resource::Release {
                    tenant: &tenant,
                    product: "",
                    tag: "",
                    entitled: None,
                    public: false,
                },
            )
            .is_ok();
            if !ok {
                return Err(Error::not_found());
            }
            Ok(Box::new(|_, _| true))
        }
        _ => Err(Error::not_found()),
    }
}

/// The release revisions of `tenant` that carry what `q` names and the
/// caller may see.
pub fn search(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    q: &SearchQuery,
) -> Result<SearchAnswer, Error> {
    state.tenant_log(tenant)?;
    let visible = visibility(state, p, tenant)?;
    let limit = match q.limit {
        None => DEFAULT_LIMIT,
        Some(l) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            return Err(Error::Unprocessable(format!(
                "limit must be 1 to {MAX_LIMIT}"
            )))
        }
    };
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let mut versions = Versions::parse(q.version.as_deref())?;
    let exact_version;
    let (by, text, how) = match (given(&q.purl), given(&q.purl_prefix), given(&q.name)) {
        (Some(purl), None, None) => {
            let key = evident_sbom::diff::purl_key(purl);
            let bare = purl.split(['?', '#']).next().unwrap_or(purl);
            match bare.strip_prefix(&key).and_then(|r| r.strip_prefix('@')) {
                Some(v) => {
                    if !matches!(versions, Versions::Any) {
                        return Err(Error::Unprocessable(
                            "give the version in the purl or in version, not both".into(),
                        ));
                    }
                    exact_version = v.to_owned();
                    versions = Versions::Any;
                    (By::Purl, key, Match::KeyVersion(&exact_version))
                }
                None => (By::Purl, key, Match::Key),
            }
        }
        (None, Some(prefix), None) => {
            if !prefix.starts_with("pkg:") || prefix.len() < 6 {
                return Err(Error::Unprocessable(
                    "purl_prefix must start with pkg: and name at least a type (pkg:maven/…)"
                        .into(),
                ));
            }
            (By::Purl, prefix.to_owned(), Match::Prefix)
        }
        (None, None, Some(name)) => (By::Name, name.to_owned(), Match::Key),
        _ => {
            return Err(Error::Unprocessable(
                "give exactly one of purl, purl_prefix or name".into(),
            ))
        }
    };
    if text.contains('\0') {
        return Err(Error::Unprocessable("a search has no NUL character".into()));
    }
    let mut hits = Vec::new();
    let mut more = false;
    let ran_out = state
        .store()
        .search_scan(tenant, by, (&text, how), SCAN_BUDGET, |h: Hit| {
            if !versions.accepts(&h.version) || !visible(&h.product, &h.tag) {
                return true;
            }
            if hits.len() == limit {
                more = true;
                return false;
            }
            hits.push(SearchHit {
                product: h.product,
                tag: h.tag,
                revision: h.revision,
                component: h.key,
                version: h.version,
                purl: h.purl,
            });
            true
        })?;
    Ok(SearchAnswer {
        hits,
        truncated: more || ran_out,
    })
}
