//! What changed between two releases' SBOMs: components added, removed,
//! and changed in version or licence, and VEX states that changed.
//!
//! A component is identified by its package URL without version,
//! qualifiers and subpath (`pkg:maven/org.apache.logging.log4j/log4j-core`),
//! or, without a purl, by its name. Under one identity a release may carry
//! several versions; when each side has exactly one, a different version
//! is a change, otherwise the versions only one side has are added or
//! removed. A licence is the declared one, else the concluded one. Every
//! list is sorted, so the same two models always give the same diff.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Component, Model};

/// One component as a diff names it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// The identity: the purl without version, qualifiers and subpath,
    /// else `name:<name>`.
    pub key: String,
    /// Name.
    pub name: String,
    /// Version, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Licence (declared, else concluded), as SPDX or names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// The full purl, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A component whose version or licence changed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// The identity.
    pub key: String,
    /// Name.
    pub name: String,
    /// Before.
    pub from: Side,
    /// After.
    pub to: Side,
    /// `version`, `licence`, or both.
    pub what: Vec<String>,
}

/// One side of a [`Change`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Side {
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
}

/// The component part of a diff.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Components {
    /// Only in the later release.
    pub added: Vec<Item>,
    /// Only in the earlier release.
    pub removed: Vec<Item>,
    /// In both, with another version or licence.
    pub changed: Vec<Change>,
}

/// A package URL without its version, qualifiers and subpath.
pub fn purl_key(purl: &str) -> String {
    let p = purl.split(['?', '#']).next().unwrap_or(purl);
    // The version follows the last '@' after the name's last '/'.
    let name_at = p.rfind('/').map_or(0, |i| i + 1);
    match p[name_at..].rfind('@') {
        Some(i) => p[..name_at + i].to_owned(),
        None => p.to_owned(),
    }
}

/// The identity of a component (see the module's doc).
pub fn key_of(c: &Component) -> String {
    match &c.purl {
        Some(p) => purl_key(p),
        None => format!("name:{}", c.name),
    }
}

fn item(c: &Component) -> Item {
    Item {
        key: key_of(c),
        name: c.name.clone(),
        version: c.version.clone(),
        licence: c
            .declared
            .as_ref()
            .or(c.concluded.as_ref())
            .map(|l| l.display()),
        purl: c.purl.clone(),
    }
}

/// Every component of a model (its subject first, when it has one), by
/// identity, then version, licence and purl, without repeats.
fn by_key(m: &Model) -> BTreeMap<String, BTreeSet<Item>> {
    // One item per (identity, version, licence): the same package listed
    // again under another display name or with other qualifiers is not
    // another component to compare.
    type VersionLicence = (Option<String>, Option<String>);
    let mut seen: BTreeMap<String, BTreeMap<VersionLicence, Item>> = BTreeMap::new();
    for c in m.subject.iter().chain(&m.components) {
        let i = item(c);
        seen.entry(i.key.clone())
            .or_default()
            .entry((i.version.clone(), i.licence.clone()))
            .or_insert(i);
    }
    seen.into_iter()
        .map(|(k, v)| (k, v.into_values().collect()))
        .collect()
}

/// The components added, removed and changed from `from` to `to`.
pub fn components(from: &Model, to: &Model) -> Components {
    let (a, b) = (by_key(from), by_key(to));
    let mut d = Components::default();
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let empty = BTreeSet::new();
    for k in keys {
        let (fa, fb) = (a.get(k).unwrap_or(&empty), b.get(k).unwrap_or(&empty));
        if let ([x], [y]) = (
            fa.iter().collect::<Vec<_>>().as_slice(),
            fb.iter().collect::<Vec<_>>().as_slice(),
        ) {
            let mut what = Vec::new();
            if x.version != y.version {
                what.push("version".to_owned());
            }
            if x.licence != y.licence {
                what.push("licence".to_owned());
            }
            if !what.is_empty() {
                d.changed.push(Change {
                    key: k.clone(),
                    name: y.name.clone(),
                    from: Side {
                        version: x.version.clone(),
                        licence: x.licence.clone(),
                    },
                    to: Side {
                        version: y.version.clone(),
                        licence: y.licence.clone(),
                    },
                    what,
                });
            }
            continue;
        }
        // Several versions on a side (or none): what both have is the
        // same; of the rest, one item a side of one version is a licence
        // change; the others are added or removed.
        let rest_a: Vec<&Item> = fa.difference(fb).collect();
        let rest_b: Vec<&Item> = fb.difference(fa).collect();
        let of = |r: &[&Item], v: &Option<String>| r.iter().filter(|i| &i.version == v).count();
        for i in &rest_a {
            let j = rest_b.iter().find(|j| j.version == i.version);
            match j {
                // The same version and licence, named otherwise: no change.
                Some(j)
                    if of(&rest_a, &i.version) == 1
                        && of(&rest_b, &i.version) == 1
                        && j.licence == i.licence => {}
                Some(j) if of(&rest_a, &i.version) == 1 && of(&rest_b, &i.version) == 1 => {
                    d.changed.push(Change {
                        key: k.clone(),
                        name: j.name.clone(),
                        from: Side {
                            version: i.version.clone(),
                            licence: i.licence.clone(),
                        },
                        to: Side {
                            version: j.version.clone(),
                            licence: j.licence.clone(),
                        },
                        what: vec!["licence".to_owned()],
                    })
                }
                _ => d.removed.push((*i).clone()),
            }
        }
        for j in &rest_b {
            if !(of(&rest_a, &j.version) == 1 && of(&rest_b, &j.version) == 1) {
                d.added.push((*j).clone());
            }
        }
    }
    d.added.sort();
    d.removed.sort();
    d
}

/// A VEX statement as a diff compares it: by vulnerability and component
/// identity (so a finding keeps its place across a component's upgrade).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct VexRow {
    /// The vulnerability id.
    pub vulnerability: String,
    /// The component's identity ([`key_of`]), or `release` for the
    /// release as a whole.
    pub component_key: String,
    /// The component for people (name and version).
    pub component: String,
    /// The state (`affected`, `not_affected`, `fixed`, …).
    pub state: String,
}

/// A VEX state that changed (or appeared, or went) between two releases.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VexChange {
    /// The vulnerability id.
    pub vulnerability: String,
    /// The component's identity.
    pub component_key: String,
    /// The component in the later release (else in the earlier one).
    pub component: String,
    /// The state before; absent when the earlier release had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The state after; absent when the later release has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The VEX states that differ between two releases' statements, sorted by
/// vulnerability then component. Several statements of one pair on a side
/// are joined (`affected+fixed`).
pub fn vex_changes(from: &[VexRow], to: &[VexRow]) -> Vec<VexChange> {
    type Pair = (String, String);
    let index = |rows: &[VexRow]| -> BTreeMap<Pair, (String, BTreeSet<String>)> {
        let mut m: BTreeMap<Pair, (String, BTreeSet<String>)> = BTreeMap::new();
        for r in rows {
            let e = m
                .entry((r.vulnerability.clone(), r.component_key.clone()))
                .or_insert_with(|| (r.component.clone(), BTreeSet::new()));
            e.1.insert(r.state.clone());
        }
        m
    };
    let (a, b) = (index(from), index(to));
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join("+");
    let keys: BTreeSet<&Pair> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k), b.get(k));
            let (fx, fy) = (x.map(|v| join(&v.1)), y.map(|v| join(&v.1)));
            (fx != fy).then(|| VexChange {
                vulnerability: k.0.clone(),
                component_key: k.1.clone(),
                component: y.or(x).map(|v| v.0.clone()).unwrap_or_default(),
                from: fx,
                to: fy,
            })
        })
        .collect()
}

/// The format of a [`ReleaseDiff`].
pub const DIFF_FORMAT: &str = "evident-diff/v1";

/// One side of a [`ReleaseDiff`]: which revision, which SBOM, which VEX.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseRef {
    /// Tag.
    pub tag: String,
    /// Revision.
    pub revision: u32,
    /// SHA-256 (hex) of the SBOM as pushed.
    pub sbom_sha256: String,
    /// The artefact digests of the revision (`sha256:…`).
    pub artefacts: Vec<String>,
    /// The VEX version compared, when the release has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex_version: Option<u32>,
}

/// Counts of a [`ReleaseDiff`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Components added.
    pub added: usize,
    /// Components removed.
    pub removed: usize,
    /// Components changed.
    pub changed: usize,
    /// VEX states changed.
    pub vex_changed: usize,
}

/// What changed between two releases of a product: the document served
/// (signed, timestamped, logged) at `…/products/{p}/diff?from=&to=`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseDiff {
    /// `evident-diff/v1`.
    pub format: String,
    /// Tenant.
    pub tenant: String,
    /// Product.
    pub product: String,
    /// The earlier release.
    pub from: ReleaseRef,
    /// The later release.
    pub to: ReleaseRef,
    /// Counts.
    pub summary: Summary,
    /// Components added, removed and changed.
    pub components: Components,
    /// VEX states that changed.
    pub vex: Vec<VexChange>,
}

impl ReleaseDiff {
    /// The diff of two releases from their models and VEX rows.
    pub fn new(
        (tenant, product): (&str, &str),
        (from, from_model, from_vex): (ReleaseRef, &Model, &[VexRow]),
        (to, to_model, to_vex): (ReleaseRef, &Model, &[VexRow]),
    ) -> Self {
        let c = components(from_model, to_model);
        let vex = vex_changes(from_vex, to_vex);
        Self {
            format: DIFF_FORMAT.into(),
            tenant: tenant.into(),
            product: product.into(),
            from,
            to,
            summary: Summary {
                added: c.added.len(),
                removed: c.removed.len(),
                changed: c.changed.len(),
                vex_changed: vex.len(),
            },
            components: c,
            vex,
        }
    }

    /// The bytes served: pretty JSON with a final newline. The same diff
    /// always gives the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec_pretty(self).expect("a diff is plain data");
        b.push(b'\n');
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::License;
    use proptest::prelude::*;

    fn comp(purl: Option<&str>, name: &str, version: Option<&str>, lic: Option<&str>) -> Component {
        Component {
            name: name.into(),
            version: version.map(Into::into),
            purl: purl.map(Into::into),
            kind: "library".into(),
            supplier: None,
            supplier_kind: None,
            supplier_email: None,
            hashes: Default::default(),
            declared: lic.map(|l| License::Spdx(l.into())),
            concluded: None,
            depends_on: Vec::new(),
        }
    }

    fn model(c: Vec<Component>) -> Model {
        Model {
            format: crate::model::SourceFormat::CyclonedxJson,
            spec_version: "1.6".into(),
            document: Default::default(),
            subject: None,
            components: c,
        }
    }

    #[test]
    fn keys_drop_version_qualifiers_and_subpath() {
        let k = |p: &str| key_of(&comp(Some(p), "x", None, None));
        assert_eq!(
            k("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
            "pkg:maven/org.apache.logging.log4j/log4j-core"
        );
        assert_eq!(
            k("pkg:npm/%40scope/pkg@1.0.0?x=y#sub"),
            "pkg:npm/%40scope/pkg"
        );
        assert_eq!(k("pkg:cargo/serde"), "pkg:cargo/serde");
        assert_eq!(
            key_of(&comp(None, "libfoo", Some("1"), None)),
            "name:libfoo"
        );
    }

    #[test]
    fn a_log4j_upgrade_a_new_and_a_dropped_component_and_a_relicence() {
        let from = model(vec![
            comp(
                Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
                "log4j-core",
                Some("2.14.1"),
                Some("Apache-2.0"),
            ),
            comp(
                Some("pkg:npm/left-pad@1.3.0"),
                "left-pad",
                Some("1.3.0"),
                Some("WTFPL"),
            ),
            comp(None, "libfoo", Some("1.0"), Some("MIT")),
        ]);
        let to = model(vec![
            comp(
                Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1"),
                "log4j-core",
                Some("2.17.1"),
                Some("Apache-2.0"),
            ),
            comp(None, "libfoo", Some("1.0"), Some("BSD-3-Clause")),
            comp(
                Some("pkg:cargo/serde@1.0.200"),
                "serde",
                Some("1.0.200"),
                Some("MIT OR Apache-2.0"),
            ),
        ]);
        let d = components(&from, &to);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.added[0].name, "serde");
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].name, "left-pad");
        assert_eq!(d.changed.len(), 2);
        let log4j = d.changed.iter().find(|c| c.name == "log4j-core").unwrap();
        assert_eq!(log4j.what, ["version"]);
        assert_eq!(log4j.from.version.as_deref(), Some("2.14.1"));
        assert_eq!(log4j.to.version.as_deref(), Some("2.17.1"));
        let foo = d.changed.iter().find(|c| c.name == "libfoo").unwrap();
        assert_eq!(foo.what, ["licence"]);
        assert_eq!(components(&to, &to), Components::default());
    }

    /// Applies a diff to `from`'s (key, version, licence) set.
    fn apply(from: &Model, d: &Components) -> BTreeSet<(String, Option<String>, Option<String>)> {
        let mut s: BTreeSet<_> = by_key(from)
            .into_values()
            .flatten()
            .map(|i| (i.key, i.version, i.licence))
            .collect();
        for i in &d.removed {
            assert!(
                s.remove(&(i.key.clone(), i.version.clone(), i.licence.clone())),
                "{i:?}"
            );
        }
        for c in &d.changed {
            assert!(
                s.remove(&(
                    c.key.clone(),
                    c.from.version.clone(),
                    c.from.licence.clone()
                )),
                "{c:?}"
            );
            s.insert((c.key.clone(), c.to.version.clone(), c.to.licence.clone()));
        }
        for i in &d.added {
            s.insert((i.key.clone(), i.version.clone(), i.licence.clone()));
        }
        s
    }

    fn arb_model() -> impl Strategy<Value = Model> {
        let c = (
            0..4u8,
            prop::option::of(0..3u8),
            prop::option::of(0..2u8),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(n, v, l, purl, other)| {
                let name = format!("c{n}");
                let version = v.map(|v| format!("1.{v}"));
                // The same package may carry a qualifier or another name.
                let q = if other { "?arch=x86" } else { "" };
                let purl = purl.then(|| match &version {
                    Some(v) => format!("pkg:npm/{name}@{v}{q}"),
                    None => format!("pkg:npm/{name}{q}"),
                });
                let shown = if other && purl.is_some() {
                    format!("{name}-js")
                } else {
                    name.clone()
                };
                comp(
                    purl.as_deref(),
                    &shown,
                    version.as_deref(),
                    l.map(|l| ["MIT", "Apache-2.0"][l as usize]),
                )
            });
        prop::collection::vec(c, 0..8).prop_map(model)
    }

    proptest! {
        /// Applying the diff to the earlier release gives the later one,
        /// for any two small models with repeated names, versions and
        /// licences (the naive reference: sets of (identity, version,
        /// licence)).
        #[test]
        fn the_diff_takes_from_to_to(a in arb_model(), b in arb_model()) {
            let d = components(&a, &b);
            let want: BTreeSet<_> = by_key(&b)
                .into_values()
                .flatten()
                .map(|i| (i.key, i.version, i.licence))
                .collect();
            prop_assert_eq!(apply(&a, &d), want);
            // A change changes something.
            for c in &d.changed {
                prop_assert!(c.from != c.to, "{:?}", c);
            }
        }
    }

    #[test]
    fn vex_states_are_compared_by_vulnerability_and_component_identity() {
        let row = |v: &str, k: &str, c: &str, st: &str| VexRow {
            vulnerability: v.into(),
            component_key: k.into(),
            component: c.into(),
            state: st.into(),
        };
        let log4j = "pkg:maven/org.apache.logging.log4j/log4j-core";
        let from = [
            row("CVE-2021-44228", log4j, "log4j-core 2.14.1", "affected"),
            row("CVE-2022-1", "pkg:npm/x", "x 1", "under_investigation"),
            row("CVE-2020-9", "pkg:npm/y", "y 1", "not_affected"),
        ];
        let to = [
            row("CVE-2021-44228", log4j, "log4j-core 2.17.1", "fixed"),
            row("CVE-2020-9", "pkg:npm/y", "y 2", "not_affected"),
            row("CVE-2023-5", "pkg:npm/z", "z 1", "affected"),
        ];
        let d = vex_changes(&from, &to);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(
            (
                d[0].vulnerability.as_str(),
                d[0].from.as_deref(),
                d[0].to.as_deref(),
                d[0].component.as_str()
            ),
            (
                "CVE-2021-44228",
                Some("affected"),
                Some("fixed"),
                "log4j-core 2.17.1"
            )
        );
        assert_eq!(
            (d[1].from.as_deref(), d[1].to.as_deref()),
            (Some("under_investigation"), None)
        );
        assert_eq!(
            (d[2].from.as_deref(), d[2].to.as_deref()),
            (None, Some("affected"))
        );
    }
}
