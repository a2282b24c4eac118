//! `evident serve --demo`: a `demo` tenant with one real release, so a
//! newcomer sees real data at once.
//!
//! The SBOM is real generator output (cargo-sbom 0.10.0 over a crate that
//! depends on tokio, axum, rocksdb, sigstore and serde: 399 components), and
//! the artefact is this server's own binary, with its real SHA-256.

use sha2::{Digest, Sha256};

use crate::{
    core::{Error, Principal, Scope},
    service::{
        releases::{self, ArtefactIn, Encoding, ReleasePush, SbomIn},
        tenancy::{self, CreateTenant},
        AppState,
    },
};

/// The demo tenant's slug.
pub const TENANT: &str = "demo";

const SBOM: &str = include_str!("../../tests/fixtures/sboms/cargo-sbom-evidence-demo.cdx-1.6.json");
/// Reachability findings about that SBOM's components (made-up ids), so
/// the demo release has VEX.
const FINDINGS: &str =
    include_str!("../../tests/fixtures/vex-findings/evidence-demo.findings.json");

/// What seeding produced (only on the run that created the tenant).
#[derive(Debug)]
pub struct Seeded {
    /// The demo tenant's first admin token, shown once.
    pub admin_token: String,
    /// `product tag revision`.
    pub release: String,
}

/// Creates the demo tenant and pushes its release, unless it exists.
pub async fn seed(state: &AppState) -> Result<Option<Seeded>, Error> {
    if state.tenant(TENANT)?.is_some() {
        return Ok(None);
    }
    let operator = state
        .store()
        .operator_token_id()?
        .ok_or_else(|| Error::Internal("no operator token".into()))?;
    let op = Principal::Operator { token_id: operator };
    let created = tenancy::create_tenant(
        state,
        &op,
        CreateTenant {
            slug: TENANT.into(),
            name: "Demo Vendor".into(),
        },
    )
    .await?;
    let admin = Principal::Tenant {
        tenant: TENANT.into(),
        token_id: created.admin_token.id.clone(),
        scope: Scope::Admin,
    };
    let exe = std::env::current_exe()
        .and_then(std::fs::read)
        .map_err(|e| Error::Internal(format!("reading this binary for the demo digest: {e}")))?;
    let req = ReleasePush {
        product: "evidence-demo".into(),
        tag: "v0.1.0".into(),
        artefacts: vec![ArtefactIn {
            name: "evident".into(),
            digest: format!("sha256:{}", hex::encode(Sha256::digest(&exe))),
            media_type: Some("application/x-executable".into()),
        }],
        sbom: SbomIn {
            content: SBOM.into(),
            encoding: Encoding::Utf8,
        },
        provenance: None,
        findings: Some(
            serde_json::from_str(FINDINGS)
                .map_err(|e| Error::Internal(format!("demo findings: {e}")))?,
        ),
        components: Vec::new(),
    };
    let pushed = releases::push_as(state, &admin, TENANT, req).await?;
    Ok(Some(Seeded {
        admin_token: created.admin_token.token,
        release: format!(
            "{} {} revision {}",
            pushed.release.product, pushed.release.tag, pushed.release.revision
        ),
    }))
}
