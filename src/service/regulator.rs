//! Regulator requests: an authority's demand for the SBOM of a product
//! under a notice, recorded with the production digests it observed
//! (resolved to the releases that carry them), and moved through its life
//! cycle, each step a log entry. The record changes only through those
//! steps.

use serde::{Deserialize, Serialize};

use crate::{
    core::{
        clock::{now_unix, rfc3339},
        events::{DigestResolved, EventBody, RequestMoved},
        names,
        policy::{allow, Action, Resource},
        regulator::{DigestMatch, RegulatorRequest, RequestBody, RequestState, Transition},
        release::sha256_hex,
        Error, Principal,
    },
    service::AppState,
    store::Db,
};

/// At most this many requests per tenant.
pub const MAX_REQUESTS: usize = 10_000;

/// A request as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestView {
    /// The request.
    #[serde(flatten)]
    pub request: RegulatorRequest,
    /// Past its deadline and not yet delivered (or closed, or withdrawn).
    pub overdue: bool,
}

fn view(r: RegulatorRequest, now: i64) -> RequestView {
    RequestView {
        overdue: r.overdue(now),
        request: r,
    }
}

/// `POST …/regulator-requests/{id}/transitions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransition {
    /// The state to move to: `in_preparation`, `delivered`, `closed` or
    /// `withdrawn` (`issued` is reached by issuing the bundle).
    pub to: RequestState,
    /// A note kept with the step (how it was delivered, why withdrawn); at
    /// most 2,000 characters. The log entry carries its SHA-256.
    #[serde(default)]
    pub note: Option<String>,
}

/// `?state=` of the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only overdue requests (`true`).
    pub overdue: Option<bool>,
}

fn new_id() -> String {
    crate::service::random_hex(8)
}

/// `POST …/regulator-requests` (admin, officer): records the request,
/// resolves each production digest to the release revisions whose
/// artefacts carry it, and logs `regulator_request_received` with the
/// request's SHA-256, the matches and the digests that matched nothing.
/// 422 for a bad field or a named release that does not exist.
pub async fn create(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    body: RequestBody,
) -> Result<RequestView, Error> {
    allow(p, Action::ManageRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let now = now_unix();
    let body = body.checked(now)?;
    let db = state.store();
    if let (Some(product), Some(tag)) = (&body.product, &body.tag) {
        if db.revisions(tenant, product, tag)?.is_empty() {
            return Err(Error::Unprocessable(format!(
                "/product, /tag: {product} {tag} was never pushed"
            )));
        }
    }
    let mut resolution = Vec::new();
    for d in &body.production_digests {
        resolution.push(DigestMatch {
            digest: d.clone(),
            releases: db.releases_with_artefact(tenant, d)?,
        });
    }
    let _lock = state.tenant_lock(tenant).await;
    if db.regulator_requests(tenant)?.len() >= MAX_REQUESTS {
        return Err(Error::Unprocessable(format!(
            "a tenant has at most {MAX_REQUESTS} regulator requests"
        )));
    }
    let actor = p.actor();
    let mut rec = RegulatorRequest {
        id: new_id(),
        request_sha256: body.sha256(),
        resolution,
        state: RequestState::Received,
        history: vec![Transition {
            state: RequestState::Received,
            at: rfc3339(now),
            actor: actor.clone(),
            note: None,
            log_index: None,
        }],
        request: body,
    };
    let event = EventBody::RegulatorRequestReceived {
        request_id: rec.id.clone(),
        request_sha256: rec.request_sha256.clone(),
        authority_kind: rec.request.authority.kind.name().into(),
        country: rec.request.authority.country.clone(),
        received_on: rec.request.received_on.clone(),
        deadline: rec.request.deadline.clone(),
        product: rec.request.product.clone(),
        tag: rec.request.tag.clone(),
        resolved: rec
            .resolution
            .iter()
            .flat_map(|m| {
                m.releases.iter().map(|r| DigestResolved {
                    digest: m.digest.clone(),
                    product: r.product.clone(),
                    tag: r.tag.clone(),
                    revision: r.revision,
                    artefact: r.artefact.clone(),
                    release_index: r.release_index,
                })
            })
            .collect(),
        unmatched: rec
            .resolution
            .iter()
            .filter(|m| m.releases.is_empty())
            .map(|m| m.digest.clone())
            .collect(),
    };
    let (op, key) = Db::regulator_request_ops(tenant, &rec);
    let index = state
        .record_indexed(tenant, vec![(actor, event)], vec![op], vec![key])
        .await?;
    rec.history[0].log_index = Some(index);
    Ok(view(rec, now))
}

/// `GET …/regulator-requests` (admin, officer, auditor): open requests
/// first, soonest deadline first; then the rest, latest deadline first.
pub fn list(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    q: &ListQuery,
) -> Result<Vec<RequestView>, Error> {
    allow(p, Action::ReadRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let now = now_unix();
    let mut all: Vec<RequestView> = state
        .store()
        .regulator_requests(tenant)?
        .into_iter()
        .filter(|r| q.state.is_none_or(|s| s == r.state))
        .map(|r| view(r, now))
        .filter(|v| q.overdue.is_none_or(|o| o == v.overdue))
        .collect();
    all.sort_by(|a, b| {
        let (x, y) = (&a.request, &b.request);
        match (x.state.awaiting_answer(), y.state.awaiting_answer()) {
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            (true, true) => (&x.request.deadline, &x.id).cmp(&(&y.request.deadline, &y.id)),
            (false, false) => (&y.request.deadline, &y.id).cmp(&(&x.request.deadline, &x.id)),
        }
    });
    Ok(all)
}

/// `GET …/regulator-requests/{id}` (admin, officer, auditor).
pub fn get(state: &AppState, p: &Principal, tenant: &str, id: &str) -> Result<RequestView, Error> {
    allow(p, Action::ReadRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let r = state
        .store()
        .regulator_request(tenant, &id.to_ascii_lowercase())?
        .ok_or_else(Error::not_found)?;
    Ok(view(r, now_unix()))
}

/// `POST …/regulator-requests/{id}/transitions` (admin, officer): moves
/// the request on, logged as the state's event with the state it left and
/// the note's SHA-256. 409 for a move its life cycle does not allow.
pub async fn transition(
    state: &AppState,
    p: &Principal,
    tenant: &str,
    id: &str,
    t: NewTransition,
) -> Result<RequestView, Error> {
    allow(p, Action::ManageRegulatorRequests, Resource::Tenant(tenant))?;
    state.tenant_log(tenant)?;
    let note = t
        .note
        .map(|n| names::plain_text("note", &n, 2000, true))
        .transpose()?;
    let _lock = state.tenant_lock(tenant).await;
    let mut rec = state
        .store()
        .regulator_request(tenant, &id.to_ascii_lowercase())?
        .ok_or_else(Error::not_found)?;
    rec.state.check_move(t.to)?;
    let now = now_unix();
    let moved = RequestMoved {
        request_id: rec.id.clone(),
        from: rec.state.name().into(),
        note_sha256: note.as_deref().map(|n| sha256_hex(n.as_bytes())),
    };
    let event =
        t.to.event(moved)
            .ok_or_else(|| Error::Conflict("a request is received only once".into()))?;
    let actor = p.actor();
    rec.state = t.to;
    rec.history.push(Transition {
        state: t.to,
        at: rfc3339(now),
        actor: actor.clone(),
        note,
        log_index: None,
    });
    let (op, key) = Db::regulator_request_ops(tenant, &rec);
    let index = state
        .record_indexed(tenant, vec![(actor, event)], vec![op], vec![key])
        .await?;
    if let Some(last) = rec.history.last_mut() {
        last.log_index = Some(index);
    }
    Ok(view(rec, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        core::{
            regulator::{Authority, AuthorityKind},
            release::{ArtefactIn, Encoding, ReleasePush, SbomIn},
            Scope,
        },
        service::{releases, tenancy},
    };

    const SBOM: &str =
        include_str!("../../tests/fixtures/sboms/cargo-sbom-evidence-demo.cdx-1.6.json");

    fn who(scope: Scope) -> Principal {
        Principal::Tenant {
            tenant: "acme".into(),
            token_id: format!("tok-{scope:?}"),
            scope,
        }
    }

    fn digest(b: &str) -> String {
        format!("sha256:{}", b.repeat(32))
    }

    fn push(tag: &str, artefact: &str) -> ReleasePush {
        ReleasePush {
            product: "shop".into(),
            tag: tag.into(),
            artefacts: vec![ArtefactIn {
                name: format!("shop-{tag}.tar.gz"),
                digest: artefact.into(),
                media_type: None,
            }],
            sbom: SbomIn {
                content: SBOM.into(),
                encoding: Encoding::Utf8,
            },
            provenance: None,
            findings: None,
            components: Vec::new(),
        }
    }

    fn body(digests: Vec<String>) -> RequestBody {
        RequestBody {
            authority: Authority {
                name: "Agence nationale de la sécurité des systèmes d'information".into(),
                country: "fr".into(),
                kind: AuthorityKind::Csirt,
            },
            notice_reference: "ANSSI-2026-117".into(),
            legal_basis: "Code de la défense, art. L2321-2-3".into(),
            contact: "cert@anssi.example".into(),
            received_on: regulator_today(),
            deadline: "2999-01-01".into(),
            product: None,
            tag: None,
            production_digests: digests,
        }
    }

    fn regulator_today() -> String {
        crate::core::regulator::today(now_unix())
    }

    fn entry(st: &AppState, i: u64) -> serde_json::Value {
        let leaf = st
            .log("acme")
            .unwrap()
            .entries(i, i + 1, 1)
            .unwrap()
            .pop()
            .unwrap();
        serde_json::from_slice(&leaf).unwrap()
    }

    /// A request resolves each production digest to every revision that
    /// carries it (and names the one that matches nothing), logs its
    /// SHA-256, moves only along its life cycle with each step logged, and
    /// is readable by auditors but changed only by admins and officers.
    #[tokio::test]
    async fn requests_resolve_digests_and_log_every_step() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = tenancy::state_with_acme(d.path()).await;
        let ci = who(Scope::Push);
        let a = digest("ab");
        let v1 = releases::push(&st, &ci, "acme", push("v1.0", &a))
            .await
            .unwrap();
        // The same artefact in a second release, and another artefact.
        let v2 = releases::push(&st, &ci, "acme", push("v1.0-lts", &a))
            .await
            .unwrap();
        releases::push(&st, &ci, "acme", push("v2.0", &digest("cd")))
            .await
            .unwrap();
        let officer = who(Scope::Officer);
        let unknown = digest("ef");
        let r = create(
            &st,
            &officer,
            "acme",
            body(vec![
                a.to_uppercase().replace("SHA256", "sha256"),
                unknown.clone(),
            ]),
        )
        .await
        .unwrap();
        let rec = &r.request;
        assert_eq!(rec.state, RequestState::Received);
        assert!(!r.overdue);
        assert_eq!(rec.resolution.len(), 2);
        let found: Vec<(&str, u64)> = rec.resolution[0]
            .releases
            .iter()
            .map(|x| (x.tag.as_str(), x.release_index))
            .collect();
        assert_eq!(
            found,
            [
                ("v1.0", v1.release.log_index.unwrap()),
                ("v1.0-lts", v2.release.log_index.unwrap())
            ]
        );
        assert_eq!(rec.resolution[0].releases[0].artefact, "shop-v1.0.tar.gz");
        assert!(rec.resolution[1].releases.is_empty());
        let e = entry(&st, rec.history[0].log_index.unwrap());
        assert_eq!(e["event"]["kind"], "regulator_request_received");
        assert_eq!(e["event"]["request_id"], rec.id.as_str());
        assert_eq!(e["event"]["request_sha256"], rec.request.sha256().as_str());
        assert_eq!(e["event"]["country"], "FR");
        assert_eq!(e["event"]["resolved"].as_array().unwrap().len(), 2);
        assert_eq!(e["event"]["unmatched"][0], unknown.as_str());
        assert_eq!(e["actor"]["scope"], "officer");

        // The life cycle, each step an entry naming the state it left.
        let auditor = who(Scope::Auditor);
        let step = |to, note: Option<&str>| NewTransition {
            to,
            note: note.map(str::to_owned),
        };
        for scope in [Scope::Auditor, Scope::Push, Scope::Share] {
            assert!(matches!(
                transition(
                    &st,
                    &who(scope),
                    "acme",
                    &rec.id,
                    step(RequestState::InPreparation, None)
                )
                .await,
                Err(Error::NotFound(_))
            ));
            if scope != Scope::Auditor {
                assert!(get(&st, &who(scope), "acme", &rec.id).is_err());
            }
        }
        assert!(matches!(
            transition(
                &st,
                &officer,
                "acme",
                &rec.id,
                step(RequestState::Delivered, None)
            )
            .await,
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            transition(&st, &officer, "acme", &rec.id, step(RequestState::Issued, None)).await,
            Err(Error::Conflict(m)) if m.contains("bundle")
        ));
        let size = st.log("acme").unwrap().size();
        let m = transition(
            &st,
            &officer,
            "acme",
            &rec.id.to_uppercase(),
            step(RequestState::InPreparation, Some("assigned to the PSIRT")),
        )
        .await
        .unwrap();
        assert_eq!(
            st.log("acme").unwrap().size(),
            size + 1,
            "refused moves log nothing"
        );
        assert_eq!(m.request.history.len(), 2);
        assert_eq!(m.request.history[1].log_index, Some(size));
        let e = entry(&st, size);
        assert_eq!(e["event"]["kind"], "regulator_request_in_preparation");
        assert_eq!(e["event"]["from"], "received");
        assert_eq!(
            e["event"]["note_sha256"],
            sha256_hex(b"assigned to the PSIRT").as_str()
        );
        let w = transition(
            &st,
            &officer,
            "acme",
            &rec.id,
            step(RequestState::Withdrawn, None),
        )
        .await
        .unwrap();
        assert_eq!(
            entry(&st, w.request.history[2].log_index.unwrap())["event"]["kind"],
            "regulator_request_withdrawn"
        );
        assert!(matches!(
            transition(
                &st,
                &officer,
                "acme",
                &rec.id,
                step(RequestState::Closed, None)
            )
            .await,
            Err(Error::Conflict(_))
        ));
        // Read back with every step's index, by auditors too.
        let g = get(&st, &auditor, "acme", &rec.id).unwrap();
        assert_eq!(g.request.state, RequestState::Withdrawn);
        assert_eq!(
            g.request
                .history
                .iter()
                .map(|t| t.log_index.is_some())
                .collect::<Vec<_>>(),
            [true, true, true]
        );
        assert_eq!(
            g.request.history[1].note.as_deref(),
            Some("assigned to the PSIRT")
        );
        assert!(matches!(
            get(&st, &auditor, "acme", "0000000000000000"),
            Err(Error::NotFound(_))
        ));
    }

    /// A named release must exist; bad fields are 422 and log nothing;
    /// the list puts open requests first and marks the overdue.
    #[tokio::test]
    async fn requests_are_checked_and_listed_by_deadline() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = tenancy::state_with_acme(d.path()).await;
        releases::push(&st, &who(Scope::Push), "acme", push("v1.0", &digest("ab")))
            .await
            .unwrap();
        let admin = who(Scope::Admin);
        let size = st.log("acme").unwrap().size();
        for bad in [
            RequestBody {
                product: Some("shop".into()),
                tag: Some("v9".into()),
                ..body(vec![])
            },
            body(vec![]),
            body(vec!["md5:00".into()]),
        ] {
            assert!(matches!(
                create(&st, &admin, "acme", bad).await,
                Err(Error::Unprocessable(_))
            ));
        }
        assert_eq!(st.log("acme").unwrap().size(), size);
        let named = create(
            &st,
            &admin,
            "acme",
            RequestBody {
                product: Some("shop".into()),
                tag: Some("v1.0".into()),
                ..body(vec![])
            },
        )
        .await
        .unwrap();
        assert!(named.request.resolution.is_empty());
        let late = create(
            &st,
            &admin,
            "acme",
            RequestBody {
                received_on: "2026-01-05".into(),
                deadline: "2026-01-19".into(),
                ..body(vec![digest("ab")])
            },
        )
        .await
        .unwrap();
        assert!(late.overdue);
        let all = list(&st, &who(Scope::Auditor), "acme", &ListQuery::default()).unwrap();
        assert_eq!(
            all.iter()
                .map(|v| v.request.id.as_str())
                .collect::<Vec<_>>(),
            [late.request.id.as_str(), named.request.id.as_str()]
        );
        let overdue = ListQuery {
            overdue: Some(true),
            ..Default::default()
        };
        assert_eq!(list(&st, &admin, "acme", &overdue).unwrap().len(), 1);
        let withdrawn = ListQuery {
            state: Some(RequestState::Withdrawn),
            ..Default::default()
        };
        assert!(list(&st, &admin, "acme", &withdrawn).unwrap().is_empty());
        // Withdrawn, it is no longer overdue, and sorts after open ones.
        transition(
            &st,
            &admin,
            "acme",
            &late.request.id,
            NewTransition {
                to: RequestState::Withdrawn,
                note: Some("the authority withdrew the notice".into()),
            },
        )
        .await
        .unwrap();
        let all = list(&st, &admin, "acme", &ListQuery::default()).unwrap();
        assert_eq!(all[1].request.id, late.request.id);
        assert!(!all[1].overdue);
    }

    /// Releases pushed before the digest index existed are found: the
    /// first resolution indexes them.
    #[tokio::test]
    async fn older_releases_are_indexed_on_first_use() {
        let d = tempfile::tempdir().unwrap();
        let (st, _) = tenancy::state_with_acme(d.path()).await;
        releases::push(&st, &who(Scope::Push), "acme", push("v1.0", &digest("ab")))
            .await
            .unwrap();
        // As a store written before the index: no keys, no marker.
        let db = st.store();
        db.delete_where(b"artefact", |_, _| true).unwrap();
        assert!(
            db.releases_with_artefact("acme", &digest("ab"))
                .unwrap()
                .len()
                == 1
        );
        assert_eq!(db.artefact_backfill("acme").unwrap(), 0, "done once");
    }
}
