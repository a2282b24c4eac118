//! Regulator requests, as plain data and pure rules: what an authority
//! asked for, the states a request moves through, and which moves are
//! allowed. Storage and the log belong to `store` and `service::regulator`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::{
    events::{Actor, EventBody, RequestMoved},
    names, Error,
};

/// What kind of body the authority is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityKind {
    /// A market-surveillance authority (for example under the EU Cyber
    /// Resilience Act).
    MarketSurveillance,
    /// A CSIRT or national CERT.
    Csirt,
    /// A sector regulator (energy, health, finance, …).
    SectorRegulator,
    /// Any other authority.
    Other,
}

impl AuthorityKind {
    /// The snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::MarketSurveillance => "market_surveillance",
            Self::Csirt => "csirt",
            Self::SectorRegulator => "sector_regulator",
            Self::Other => "other",
        }
    }
}

/// The authority that sent a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    /// Its name (1 to 200 characters).
    pub name: String,
    /// Its country: ISO 3166-1 alpha-2 (`DE`, `FR`, …), or `EU` for a
    /// body of the Union.
    pub country: String,
    /// What kind of authority it is.
    pub kind: AuthorityKind,
}

/// A regulator's request as recorded: the body of
/// `POST …/regulator-requests`, normalised. Its RFC 8785 SHA-256 is in the
/// `regulator_request_received` entry, so the text the authority sent can
/// be tied to the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// Who asks.
    pub authority: Authority,
    /// The authority's reference for its notice (1 to 200 characters).
    pub notice_reference: String,
    /// The legal basis the authority cites (1 to 4,000 characters; line
    /// breaks allowed).
    pub legal_basis: String,
    /// How to reach the authority's officer (1 to 500 characters).
    pub contact: String,
    /// When the notice was received, `YYYY-MM-DD` (not after today).
    pub received_on: String,
    /// When the answer is due, `YYYY-MM-DD` (not before `received_on`).
    pub deadline: String,
    /// The product asked for by name (with `tag`), if the notice names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The release tag asked for by name (with `product`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The digests the authority observed in the field (`sha256:` and 64
    /// hex digits: the binary or image it found), at most 16. A request
    /// names a product and tag, or production digests, or both.
    #[serde(default)]
    pub production_digests: Vec<String>,
}

/// At most this many production digests per request.
pub const MAX_DIGESTS: usize = 16;

/// `YYYY-MM-DD` as a date.
fn date(what: &str, s: &str) -> Result<time::Date, Error> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &f)
        .map_err(|_| Error::Unprocessable(format!("/{what}: a date, YYYY-MM-DD")))
}

/// Today (UTC) as `YYYY-MM-DD`.
pub fn today(now_unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(now_unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date()
        .to_string()
}

/// A `sha256:` digest, lower-cased; `what` names the field.
pub fn production_digest(what: &str, d: &str) -> Result<String, Error> {
    let d = d.trim().to_ascii_lowercase();
    match d.strip_prefix("sha256:") {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(d),
        _ => Err(Error::Unprocessable(format!(
            "/{what}: sha256: and 64 hex digits"
        ))),
    }
}

impl RequestBody {
    /// The request, checked and normalised (texts trimmed, country upper
    /// case, digests lower case and distinct); `now_unix` decides "today".
    pub fn checked(self, now_unix: i64) -> Result<Self, Error> {
        let country = self.authority.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::Unprocessable(
                "/authority/country: two letters, ISO 3166-1 alpha-2 (or EU)".into(),
            ));
        }
        let received = date("received_on", &self.received_on)?;
        let deadline = date("deadline", &self.deadline)?;
        // A day of slack: the notice may carry the authority's own date,
        // already tomorrow where it was received.
        if received.to_string() > today(now_unix + 86_400) {
            return Err(Error::Unprocessable("/received_on: not after today".into()));
        }
        if deadline < received {
            return Err(Error::Unprocessable(
                "/deadline: not before received_on".into(),
            ));
        }
        let (product, tag) = match (self.product, self.tag) {
            (None, None) => (None, None),
            (Some(p), Some(t)) => {
                let (p, t) = (p.trim().to_owned(), t.trim().to_owned());
                names::check_product(&p)?;
                names::check_tag(&t)?;
                (Some(p), Some(t))
            }
            _ => {
                return Err(Error::Unprocessable(
                    "/product, /tag: both or neither".into(),
                ))
            }
        };
        if self.production_digests.len() > MAX_DIGESTS {
            return Err(Error::Unprocessable(format!(
                "/production_digests: at most {MAX_DIGESTS}"
            )));
        }
        let mut digests = Vec::new();
        for (i, d) in self.production_digests.iter().enumerate() {
            let d = production_digest(&format!("production_digests/{i}"), d)?;
            if !digests.contains(&d) {
                digests.push(d);
            }
        }
        if product.is_none() && digests.is_empty() {
            return Err(Error::Unprocessable(
                "name a product and tag, or the production digests observed, or both".into(),
            ));
        }
        Ok(Self {
            authority: Authority {
                name: names::plain_text("authority/name", &self.authority.name, 200, false)?,
                country,
                kind: self.authority.kind,
            },
            notice_reference: names::plain_text(
                "notice_reference",
                &self.notice_reference,
                200,
                false,
            )?,
            legal_basis: names::plain_text("legal_basis", &self.legal_basis, 4000, true)?,
            contact: names::plain_text("contact", &self.contact, 500, false)?,
            received_on: received.to_string(),
            deadline: deadline.to_string(),
            product,
            tag,
            production_digests: digests,
        })
    }

    /// Hex SHA-256 of the RFC 8785 form.
    pub fn sha256(&self) -> String {
        let jcs = serde_jcs::to_vec(self).expect("a request is plain JSON data");
        crate::core::release::sha256_hex(&jcs)
    }
}

/// Where a request is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Recorded; nothing prepared yet.
    Received,
    /// Someone works on the answer.
    InPreparation,
    /// The bundle was issued (signed by an officer, countersigned,
    /// timestamped, logged).
    Issued,
    /// The bundle reached the authority.
    Delivered,
    /// Done.
    Closed,
    /// Withdrawn by the authority, or found void.
    Withdrawn,
}

impl RequestState {
    /// The snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::InPreparation => "in_preparation",
            Self::Issued => "issued",
            Self::Delivered => "delivered",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Still awaiting the answer: a passed deadline makes it overdue.
    pub fn awaiting_answer(self) -> bool {
        matches!(self, Self::Received | Self::InPreparation | Self::Issued)
    }

    /// The log event of reaching this state (`None` for `Received`, whose
    /// entry says more).
    pub fn event(self, m: RequestMoved) -> Option<EventBody> {
        Some(match self {
            Self::Received => return None,
            Self::InPreparation => EventBody::RegulatorRequestInPreparation(m),
            Self::Issued => EventBody::RegulatorRequestIssued(m),
            Self::Delivered => EventBody::RegulatorRequestDelivered(m),
            Self::Closed => EventBody::RegulatorRequestClosed(m),
            Self::Withdrawn => EventBody::RegulatorRequestWithdrawn(m),
        })
    }

    /// May a request move from `self` to `to` by hand (`…/transitions`)?
    /// `Issued` is reached only by issuing the bundle.
    pub fn check_move(self, to: Self) -> Result<(), Error> {
        use RequestState::*;
        let ok = matches!(
            (self, to),
            (Received, InPreparation)
                | (Issued, Delivered)
                | (Delivered, Closed)
                | (Received | InPreparation | Issued, Withdrawn)
        );
        if ok {
            return Ok(());
        }
        Err(Error::Conflict(if to == Issued {
            "a request becomes issued only when its bundle is issued".into()
        } else {
            format!(
                "a request cannot move from {} to {}",
                self.name(),
                to.name()
            )
        }))
    }
}

/// One release revision whose artefact carries a production digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct ResolvedRelease {
    /// Product.
    pub product: String,
    /// Tag.
    pub tag: String,
    /// Revision.
    pub revision: u32,
    /// The artefact's name.
    pub artefact: String,
    /// The index of the revision's `release_pushed` entry.
    pub release_index: u64,
}

/// What a production digest resolved to (no releases: unmatched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
pub struct DigestMatch {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Every revision whose artefacts carry it, oldest push first; empty
    /// when none does.
    pub releases: Vec<ResolvedRelease>,
}

/// One step of a request's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transition {
    /// The state reached.
    pub state: RequestState,
    /// When, RFC 3339.
    pub at: String,
    /// Who moved it (as the log entry's actor).
    #[schema(value_type = Object)]
    pub actor: Actor,
    /// The note given with the move, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Its log entry's index (filled in when read).
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// A regulator request as stored. Only transitions change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegulatorRequest {
    /// Its id (16 hex digits).
    pub id: String,
    /// The request as recorded.
    pub request: RequestBody,
    /// Hex SHA-256 of `request` in RFC 8785 form (as logged).
    pub request_sha256: String,
    /// What each production digest resolved to, when received.
    pub resolution: Vec<DigestMatch>,
    /// The current state.
    pub state: RequestState,
    /// Every state it reached, the first being `received`.
    pub history: Vec<Transition>,
}

impl RegulatorRequest {
    /// Past its deadline (UTC day) and still awaiting the answer.
    pub fn overdue(&self, now_unix: i64) -> bool {
        self.state.awaiting_answer() && today(now_unix) > self.request.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_601_600; // 2026-12-07T00:00:00Z

    fn body() -> RequestBody {
        RequestBody {
            authority: Authority {
                name: "Bundesamt für Sicherheit in der Informationstechnik".into(),
                country: "de".into(),
                kind: AuthorityKind::MarketSurveillance,
            },
            notice_reference: " MSA-2026-0042 ".into(),
            legal_basis: "Regulation (EU) 2024/2847, Art. 52(3)\r\nand Annex VII".into(),
            contact: "surveillance@bsi.example".into(),
            received_on: "2026-12-01".into(),
            deadline: "2026-12-15".into(),
            product: None,
            tag: None,
            production_digests: vec![format!("SHA256:{}", "AB".repeat(32))],
        }
    }

    #[test]
    fn requests_are_checked_and_normalised() {
        assert_eq!(today(NOW), "2026-12-07");
        let b = body().checked(NOW).unwrap();
        assert_eq!(b.authority.country, "DE");
        assert_eq!(b.notice_reference, "MSA-2026-0042");
        assert_eq!(
            b.legal_basis,
            "Regulation (EU) 2024/2847, Art. 52(3)\nand Annex VII"
        );
        assert_eq!(
            b.production_digests,
            [format!("sha256:{}", "ab".repeat(32))]
        );
        assert_eq!(b.clone().checked(NOW).unwrap(), b, "idempotent");
        assert_eq!(b.sha256().len(), 64);
        let bad: Vec<(RequestBody, &str)> = vec![
            (
                RequestBody {
                    received_on: "2026-12-09".into(),
                    ..body()
                },
                "received_on",
            ),
            (
                RequestBody {
                    received_on: "1 Dec".into(),
                    ..body()
                },
                "received_on",
            ),
            (
                RequestBody {
                    deadline: "2026-11-30".into(),
                    ..body()
                },
                "deadline",
            ),
            (
                RequestBody {
                    production_digests: vec![],
                    ..body()
                },
                "product",
            ),
            (
                RequestBody {
                    production_digests: vec!["sha256:00".into()],
                    ..body()
                },
                "production_digests/0",
            ),
            (
                RequestBody {
                    product: Some("shop".into()),
                    ..body()
                },
                "both or neither",
            ),
            (
                RequestBody {
                    production_digests: vec![format!("sha256:{}", "0".repeat(64)); 17],
                    ..body()
                },
                "at most 16",
            ),
            (
                RequestBody {
                    notice_reference: "a\u{202E}b".into(),
                    ..body()
                },
                "notice_reference",
            ),
            (
                RequestBody {
                    contact: "a\nb".into(),
                    ..body()
                },
                "contact",
            ),
            (
                RequestBody {
                    legal_basis: "  ".into(),
                    ..body()
                },
                "legal_basis",
            ),
            (
                RequestBody {
                    authority: Authority {
                        country: "DEU".into(),
                        ..body().authority
                    },
                    ..body()
                },
                "country",
            ),
        ];
        for (b, what) in bad {
            match b.checked(NOW) {
                Err(Error::Unprocessable(m)) => assert!(m.contains(what), "{m} should name {what}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        // The day after counts as today (time zones), and a release named
        // without digests is a request.
        let b = RequestBody {
            received_on: "2026-12-08".into(),
            production_digests: vec![],
            product: Some("shop".into()),
            tag: Some("v1.0".into()),
            ..body()
        };
        assert!(b.checked(NOW).is_ok());
    }

    #[test]
    fn only_the_life_cycle_moves_are_allowed() {
        use RequestState::*;
        let all = [
            Received,
            InPreparation,
            Issued,
            Delivered,
            Closed,
            Withdrawn,
        ];
        let allowed = [
            (Received, InPreparation),
            (Received, Withdrawn),
            (InPreparation, Withdrawn),
            (Issued, Delivered),
            (Issued, Withdrawn),
            (Delivered, Closed),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    from.check_move(to).is_ok(),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
        assert!(
            matches!(InPreparation.check_move(Issued), Err(Error::Conflict(m)) if m.contains("bundle"))
        );
        assert!(Issued.awaiting_answer() && !Delivered.awaiting_answer());
    }
}
