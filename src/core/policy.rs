//! The one access policy: may this principal do this action on this
//! resource? Every route asks [`allow`] (through its service); nothing else
//! decides who may read or change what.
//!
//! Anything a caller may not do answers [`Error::NotFound`], exactly as if
//! it did not exist, so no caller learns what exists outside its reach
//! (another tenant, another scope, another customer's release).

use crate::core::{
    principal::{Principal, Scope},
    records::CustomerRecord,
    Error,
};

/// What a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create a tenant; list tenants.
    ManageTenants,
    /// Issue a replacement admin token for a tenant (break-glass).
    IssueAdminToken,
    /// Issue, list and revoke a tenant's tokens.
    ManageTokens,
    /// Read checkpoints, keys, proofs, checkpoint tokens and hash tiles.
    ReadLog,
    /// Read log entries and entry bundles (event bodies).
    ReadLogEntries,
    /// Move the log to a new signing key.
    RotateLogKey,
    /// Push a release record.
    PushRelease,
    /// List products and releases (a customer sees only its own).
    ListReleases,
    /// Read a release, its exports, evidence files and NOTICE.
    ReadRelease,
    /// Read the SBOM exactly as pushed.
    ReadOriginal,
    /// Read a download receipt.
    ReadReceipt,
    /// Create, change, delete and list customers, their bindings and tokens.
    ManageCustomers,
    /// List the releases a customer is entitled to (customers only).
    ReadEntitlements,
    /// Read and change tenant settings.
    ManageSettings,
    /// List the tenant's export keys.
    ReadExportKeys,
    /// Rotate the tenant's export key.
    RotateExportKey,
    /// Use the admin pages of the portal.
    AdminPortal,
    /// Issue a share link (and revoke or read the status of one's own).
    IssueShareLink,
    /// List every share link and revoke or read any of them.
    ManageShareLinks,
    /// Publish a new VEX version of a release.
    PublishVex,
    /// Publish and withdraw a release's compliance documents, and draft
    /// and publish its security advisories.
    PublishDocuments,
    /// Add and remove the log's witnesses.
    ManageWitnesses,
    /// Register and revoke officers' keys.
    ManageOfficers,
    /// List officers and their keys.
    ReadOfficers,
    /// Record regulator requests and move them through their life cycle.
    ManageRegulatorRequests,
    /// Read regulator requests.
    ReadRegulatorRequests,
}

impl Action {
    /// Every action (for the policy table test).
    pub const ALL: [Action; 26] = [
        Self::ManageTenants,
        Self::IssueAdminToken,
        Self::ManageTokens,
        Self::ReadLog,
        Self::ReadLogEntries,
        Self::RotateLogKey,
        Self::PushRelease,
        Self::ListReleases,
        Self::ReadRelease,
        Self::ReadOriginal,
        Self::ReadReceipt,
        Self::ManageCustomers,
        Self::ReadEntitlements,
        Self::ManageSettings,
        Self::ReadExportKeys,
        Self::RotateExportKey,
        Self::AdminPortal,
        Self::IssueShareLink,
        Self::ManageShareLinks,
        Self::PublishVex,
        Self::PublishDocuments,
        Self::ManageWitnesses,
        Self::ManageOfficers,
        Self::ReadOfficers,
        Self::ManageRegulatorRequests,
        Self::ReadRegulatorRequests,
    ];
}

/// A customer's entitlements and the product's releases (tag, first push
/// time), which decide whether it may read a release.
#[derive(Debug, Clone, Copy)]
pub struct Entitled<'a> {
    /// The customer.
    pub customer: &'a CustomerRecord,
    /// The product's releases (needed only for `latest` entitlements).
    pub releases: &'a [(String, String)],
    /// The customer is entitled to a product release that names this
    /// release as one of its components (which the entitlement covers).
    pub via_parent: bool,
}

/// What the action is on.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// The platform itself (tenants).
    Platform,
    /// A tenant.
    Tenant(&'a str),
    /// One release of a tenant. For a customer principal the service passes
    /// its entitlements; without them a customer is refused.
    Release {
        /// Tenant.
        tenant: &'a str,
        /// Product.
        product: &'a str,
        /// Tag.
        tag: &'a str,
        /// The calling customer's entitlements, when the caller is one.
        entitled: Option<Entitled<'a>>,
        /// Whether the tenant's portal shows the release to anyone (only a
        /// public portal's visitor needs it).
        public: bool,
    },
    /// A download receipt, and the customer whose download it records.
    Receipt {
        /// Tenant.
        tenant: &'a str,
        /// The customer that downloaded, if a customer did.
        downloaded_by: Option<&'a str>,
        /// The pseudonym of the public portal's visitor that downloaded,
        /// if one did.
        downloaded_by_client: Option<&'a str>,
    },
}

impl Resource<'_> {
    fn tenant(&self) -> Option<&str> {
        match self {
            Self::Platform => None,
            Self::Tenant(t) => Some(t),
            Self::Release { tenant, .. } | Self::Receipt { tenant, .. } => Some(tenant),
        }
    }
}

/// The tenant scopes that may do `action` (customers are decided apart).
fn scopes(action: Action) -> &'static [Scope] {
    use Scope::*;
    match action {
        Action::ManageTenants | Action::IssueAdminToken => &[],
        Action::ManageTokens
        | Action::RotateLogKey
        | Action::ManageCustomers
        | Action::ManageSettings
        | Action::RotateExportKey
        | Action::ManageShareLinks
        | Action::ManageWitnesses
        | Action::ManageOfficers
        | Action::AdminPortal => &[Admin],
        Action::ReadOfficers => &[Admin, Auditor, Officer],
        Action::ManageRegulatorRequests => &[Admin, Officer],
        Action::ReadRegulatorRequests => &[Admin, Auditor, Officer],
        Action::IssueShareLink => &[Admin, Share],
        Action::ReadLog | Action::ReadExportKeys => &[Admin, Push, Auditor, Officer],
        Action::ReadLogEntries | Action::ReadReceipt => &[Admin, Auditor],
        Action::PushRelease => &[Push],
        Action::PublishVex => &[Admin, Push],
        Action::PublishDocuments => &[Admin],
        Action::ListReleases | Action::ReadRelease | Action::ReadOriginal => {
            &[Admin, Auditor, Push, Officer]
        }
        Action::ReadEntitlements => &[],
    }
}

/// May `p` do `action` on `on`? `Ok(())` or 404.
pub fn allow(p: &Principal, action: Action, on: Resource<'_>) -> Result<(), Error> {
    let ok = match p {
        Principal::Operator { .. } => match action {
            Action::ManageTenants => matches!(on, Resource::Platform),
            // Break-glass and the log's key: recorded in the tenant's own log.
            Action::IssueAdminToken | Action::RotateLogKey => on.tenant().is_some(),
            _ => false,
        },
        Principal::Tenant { tenant, scope, .. } => {
            on.tenant() == Some(tenant.as_str()) && scopes(action).contains(scope)
        }
        Principal::Customer {
            tenant, customer, ..
        } => {
            on.tenant() == Some(tenant.as_str())
                && match (action, on) {
                    (Action::ListReleases | Action::ReadEntitlements, Resource::Tenant(_)) => true,
                    (
                        Action::ReadRelease,
                        Resource::Release {
                            product,
                            tag,
                            entitled: Some(e),
                            ..
                        },
                    ) => {
                        e.customer.id == *customer
                            && (e.via_parent || e.customer.entitled(product, tag, e.releases))
                    }
                    (
                        Action::ReadReceipt,
                        Resource::Receipt {
                            downloaded_by: Some(by),
                            ..
                        },
                    ) => by == customer,
                    _ => false,
                }
        }
        // A share link reads the one release it names, nothing else.
        Principal::ShareLink {
            tenant,
            product,
            tag,
            ..
        } => match (action, on) {
            (
                Action::ReadRelease,
                Resource::Release {
                    tenant: t,
                    product: p,
                    tag: g,
                    ..
                },
            ) => t == tenant && p == product && g == tag,
            _ => false,
        },
        // A public portal's visitor reads what the service found public
        // (`Resource::Release { public: true }`), and the receipts of its
        // own downloads.
        Principal::Public { tenant, client } => match (action, on) {
            (
                Action::ReadRelease,
                Resource::Release {
                    tenant: t,
                    public: true,
                    ..
                },
            ) => t == tenant,
            (
                Action::ReadReceipt,
                Resource::Receipt {
                    tenant: t,
                    downloaded_by_client: Some(c),
                    ..
                },
            ) => t == tenant && c == client,
            _ => false,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(Error::not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{access::Entitlement, events::Subject};

    fn tenant(scope: Scope, t: &str) -> Principal {
        Principal::Tenant {
            tenant: t.into(),
            token_id: "t".into(),
            scope,
        }
    }

    fn customer(id: &str) -> Principal {
        Principal::Customer {
            tenant: "acme".into(),
            customer: id.into(),
            subject: Subject::Token {
                token_id: "c".into(),
            },
        }
    }

    fn ann() -> CustomerRecord {
        CustomerRecord {
            id: "ann".into(),
            tenant: "acme".into(),
            name: "Ann".into(),
            created_at: 0,
            sso: vec![],
            entitlements: vec![Entitlement {
                product: "shop".into(),
                tag: "v1.*".into(),
                match_kind: None,
                include_prereleases: false,
            }],
        }
    }

    /// The whole table: every caller, every action, every kind of resource,
    /// against the expected answer written out by hand.
    #[test]
    fn the_whole_caller_action_resource_table() {
        use Action::*;
        let ann_rec = ann();
        let releases: Vec<(String, String)> = vec![];
        let ent = Entitled {
            via_parent: false,
            customer: &ann_rec,
            releases: &releases,
        };
        let resources: Vec<(&str, Resource)> = vec![
            ("platform", Resource::Platform),
            ("acme", Resource::Tenant("acme")),
            ("globex", Resource::Tenant("globex")),
            (
                "shop v1 (ann's view)",
                Resource::Release {
                    tenant: "acme",
                    product: "shop",
                    tag: "v1.0",
                    entitled: Some(ent),
                    public: false,
                },
            ),
            (
                "shop v2 (ann's view)",
                Resource::Release {
                    tenant: "acme",
                    product: "shop",
                    tag: "v2.0",
                    entitled: Some(ent),
                    public: false,
                },
            ),
            (
                "shop v1 (no view)",
                Resource::Release {
                    tenant: "acme",
                    product: "shop",
                    tag: "v1.0",
                    entitled: None,
                    public: false,
                },
            ),
            (
                "shop v1 (public)",
                Resource::Release {
                    tenant: "acme",
                    product: "shop",
                    tag: "v1.0",
                    entitled: None,
                    public: true,
                },
            ),
            (
                "ann's receipt",
                Resource::Receipt {
                    tenant: "acme",
                    downloaded_by: Some("ann"),
                    downloaded_by_client: None,
                },
            ),
            (
                "c1's receipt",
                Resource::Receipt {
                    tenant: "acme",
                    downloaded_by: None,
                    downloaded_by_client: Some("c1"),
                },
            ),
            (
                "staff receipt",
                Resource::Receipt {
                    tenant: "acme",
                    downloaded_by: None,
                    downloaded_by_client: None,
                },
            ),
        ];
        let callers: Vec<(&str, Principal)> = vec![
            (
                "operator",
                Principal::Operator {
                    token_id: "o".into(),
                },
            ),
            ("admin", tenant(Scope::Admin, "acme")),
            ("push", tenant(Scope::Push, "acme")),
            ("auditor", tenant(Scope::Auditor, "acme")),
            ("share", tenant(Scope::Share, "acme")),
            ("officer", tenant(Scope::Officer, "acme")),
            ("globex admin", tenant(Scope::Admin, "globex")),
            ("ann", customer("ann")),
            ("bob", customer("bob")),
            (
                "link to shop v1.0",
                Principal::ShareLink {
                    tenant: "acme".into(),
                    link_id: "l".into(),
                    product: "shop".into(),
                    tag: "v1.0".into(),
                },
            ),
            (
                "visitor c1",
                Principal::Public {
                    tenant: "acme".into(),
                    client: "c1".into(),
                },
            ),
            (
                "visitor c2",
                Principal::Public {
                    tenant: "acme".into(),
                    client: "c2".into(),
                },
            ),
        ];
        // The expected answers: (caller, action, resource) that are allowed.
        let mut want: std::collections::HashSet<(&str, Action, &str)> = Default::default();
        let acme_res = [
            "acme",
            "shop v1 (ann's view)",
            "shop v2 (ann's view)",
            "shop v1 (no view)",
            "shop v1 (public)",
            "ann's receipt",
            "c1's receipt",
            "staff receipt",
        ];
        want.insert(("operator", ManageTenants, "platform"));
        for r in acme_res {
            want.insert(("operator", IssueAdminToken, r));
            want.insert(("operator", RotateLogKey, r));
        }
        want.insert(("operator", IssueAdminToken, "globex"));
        want.insert(("operator", RotateLogKey, "globex"));
        // Staff, written out by hand (not derived from `scopes`).
        let staff: [(&str, &[Action]); 5] = [
            (
                "admin",
                &[
                    ManageTokens,
                    ReadLog,
                    ReadLogEntries,
                    RotateLogKey,
                    ListReleases,
                    ReadRelease,
                    ReadOriginal,
                    ReadReceipt,
                    ManageCustomers,
                    ManageSettings,
                    ReadExportKeys,
                    RotateExportKey,
                    AdminPortal,
                    IssueShareLink,
                    ManageShareLinks,
                    PublishVex,
                    PublishDocuments,
                    ManageWitnesses,
                    ManageOfficers,
                    ReadOfficers,
                    ManageRegulatorRequests,
                    ReadRegulatorRequests,
                ],
            ),
            (
                "push",
                &[
                    ReadLog,
                    PushRelease,
                    PublishVex,
                    ListReleases,
                    ReadRelease,
                    ReadOriginal,
                    ReadExportKeys,
                ],
            ),
            (
                "auditor",
                &[
                    ReadLog,
                    ReadLogEntries,
                    ListReleases,
                    ReadRelease,
                    ReadOriginal,
                    ReadReceipt,
                    ReadExportKeys,
                    ReadOfficers,
                    ReadRegulatorRequests,
                ],
            ),
            ("share", &[IssueShareLink]),
            (
                "officer",
                &[
                    ReadLog,
                    ListReleases,
                    ReadRelease,
                    ReadOriginal,
                    ReadExportKeys,
                    ReadOfficers,
                    ManageRegulatorRequests,
                    ReadRegulatorRequests,
                ],
            ),
        ];
        for (who, actions) in staff {
            for a in actions {
                for r in acme_res {
                    want.insert((who, *a, r));
                }
                if who == "admin" {
                    want.insert(("globex admin", *a, "globex"));
                }
            }
        }
        want.insert(("ann", ListReleases, "acme"));
        want.insert(("ann", ReadEntitlements, "acme"));
        want.insert(("ann", ReadRelease, "shop v1 (ann's view)"));
        want.insert(("ann", ReadReceipt, "ann's receipt"));
        want.insert(("bob", ListReleases, "acme"));
        want.insert(("bob", ReadEntitlements, "acme"));
        want.insert(("link to shop v1.0", ReadRelease, "shop v1 (ann's view)"));
        want.insert(("link to shop v1.0", ReadRelease, "shop v1 (no view)"));
        want.insert(("link to shop v1.0", ReadRelease, "shop v1 (public)"));
        // A visitor reads what is public, and only its own receipts.
        want.insert(("visitor c1", ReadRelease, "shop v1 (public)"));
        want.insert(("visitor c2", ReadRelease, "shop v1 (public)"));
        want.insert(("visitor c1", ReadReceipt, "c1's receipt"));
        let mut checked = 0;
        for (cn, c) in &callers {
            for a in Action::ALL {
                for (rn, r) in &resources {
                    let got = allow(c, a, *r).is_ok();
                    assert_eq!(got, want.contains(&(*cn, a, *rn)), "{cn} {a:?} on {rn}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 12 * 26 * 10);
        // Spot checks written out, so the table above cannot drift into
        // agreeing with a wrong policy.
        assert!(allow(
            &tenant(Scope::Push, "acme"),
            PushRelease,
            Resource::Tenant("acme")
        )
        .is_ok());
        assert!(allow(
            &tenant(Scope::Admin, "acme"),
            PushRelease,
            Resource::Tenant("acme")
        )
        .is_err());
        assert!(allow(
            &tenant(Scope::Push, "acme"),
            ReadLogEntries,
            Resource::Tenant("acme")
        )
        .is_err());
        assert!(allow(
            &tenant(Scope::Auditor, "acme"),
            ManageCustomers,
            Resource::Tenant("acme")
        )
        .is_err());
        assert!(allow(&customer("ann"), ReadOriginal, resources[3].1).is_err());
        assert_eq!(
            allow(&customer("ann"), ManageTokens, Resource::Tenant("acme")),
            Err(Error::not_found())
        );
    }
}
