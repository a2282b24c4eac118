//! Rate limits on what anonymous callers can reach, with `governor`.
//!
//! Limited, per client address and per tenant: the sign-in start
//! (`/t/{t}/login`), the IdP's callback (`/t/{t}/callback`), the token
//! sign-in form (`/t/{t}/token-login`), and a public portal's downloads
//! and receipts (`/p/{t}/…`); per client address: `POST /tsa`
//! every share-link request (`/s/…`) and every read of a public log
//! without a token (`/tlog/{t}/…`); per share link: its downloads;
//! and failed bearer authentications per client address, which, once over
//! their budget, block every bearer attempt from that address until the
//! budget refills, so a correct guess made while blocked is not even
//! checked. Over a limit the answer is 429 with `Retry-After` and the JSON
//! error body. The client address is the TCP peer (put the server behind a
//! proxy that keeps one connection per client, or give each client its own
//! address); requests without one (tests through `oneshot`) share one key
//! ([`NO_ADDRESS`]). `http::extract::ClientAddr` reads it.
//!
//! Keyed limiters keep one small state per key; [`Limits::prune`] drops the
//! keys that have fully refilled, so memory stays bounded by the number of
//! addresses seen within one refill period.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};

use crate::core::Error;

/// The limits, per minute (with a burst of the same size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// Sign-in starts, callbacks and token sign-ins per client address.
    pub sign_in_per_address: u32,
    /// The same, per tenant (all addresses together).
    pub sign_in_per_tenant: u32,
    /// `POST /tsa` requests per client address.
    pub tsa_per_address: u32,
    /// Failed bearer authentications per client address.
    pub auth_failures_per_address: u32,
    /// Share-link requests per client address.
    pub share_per_address: u32,
    /// Downloads through one share link (all addresses together), so a
    /// leaked link cannot fill the log faster than this.
    pub share_per_link: u32,
    /// Anonymous reads of a public log's checkpoint and tiles
    /// (`/tlog/{t}/…` without a token) per client address.
    pub public_log_per_address: u32,
    /// Downloads and receipts from a public portal (`/p/{t}/…`) per
    /// client address.
    pub public_per_address: u32,
    /// The same, per tenant (all addresses together), so anonymous
    /// visitors cannot fill a log faster than this.
    pub public_per_tenant: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            sign_in_per_address: 60,
            sign_in_per_tenant: 1200,
            tsa_per_address: 600,
            auth_failures_per_address: 30,
            share_per_address: 120,
            share_per_link: 600,
            public_log_per_address: 1200,
            public_per_address: 120,
            public_per_tenant: 1200,
        }
    }
}

/// Which anonymous endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anonymous {
    /// `/t/{t}/login`, `/t/{t}/callback`, `/t/{t}/token-login`.
    SignIn,
    /// `POST /tsa`.
    Tsa,
    /// `/s/{token}…`: share links.
    Share,
    /// `/tlog/{t}/…` without a token: a public log's checkpoint and tiles.
    PublicLog,
    /// `/p/{t}/…`: a public portal's downloads and receipts.
    Public,
}

/// The keyed limiters.
pub struct Limits {
    sign_in_addr: DefaultKeyedRateLimiter<IpAddr>,
    sign_in_tenant: DefaultKeyedRateLimiter<String>,
    tsa_addr: DefaultKeyedRateLimiter<IpAddr>,
    share_addr: DefaultKeyedRateLimiter<IpAddr>,
    share_link: DefaultKeyedRateLimiter<String>,
    public_log_addr: DefaultKeyedRateLimiter<IpAddr>,
    public_addr: DefaultKeyedRateLimiter<IpAddr>,
    public_tenant: DefaultKeyedRateLimiter<String>,
    auth_fail_addr: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses whose failed authentications exhausted their budget, and
    /// until when they are refused outright.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    config: LimitConfig,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("config", &self.config)
            .finish()
    }
}

/// The most blocked addresses remembered at once (about 40 bytes each).
const MAX_BLOCKED: usize = 100_000;

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).expect("at least 1");
    Quota::per_minute(n).allow_burst(n)
}

/// The key of a request without a client address.
pub const NO_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The key an address is limited under: an IPv4 address as it is, an
/// IPv6 address as its /64 (one host may rotate through its subnet).
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                crate::service::keys::client_bytes(addr),
            )),
        },
    }
}

fn too_many(wait: Duration, what: &str) -> Error {
    Error::TooManyRequests {
        retry_after_secs: wait.as_secs().max(1),
        message: format!("too many {what} from this address or for this portal; try again later"),
    }
}

impl Limits {
    /// Limiters with these limits.
    pub fn new(config: LimitConfig) -> Self {
        Self {
            sign_in_addr: RateLimiter::keyed(quota(config.sign_in_per_address)),
            sign_in_tenant: RateLimiter::keyed(quota(config.sign_in_per_tenant)),
            tsa_addr: RateLimiter::keyed(quota(config.tsa_per_address)),
            share_addr: RateLimiter::keyed(quota(config.share_per_address)),
            share_link: RateLimiter::keyed(quota(config.share_per_link)),
            public_log_addr: RateLimiter::keyed(quota(config.public_log_per_address)),
            public_addr: RateLimiter::keyed(quota(config.public_per_address)),
            public_tenant: RateLimiter::keyed(quota(config.public_per_tenant)),
            auth_fail_addr: RateLimiter::keyed(quota(config.auth_failures_per_address)),
            blocked: Mutex::default(),
            config,
        }
    }

    /// The configured limits.
    pub fn config(&self) -> LimitConfig {
        self.config
    }

    /// Counts one anonymous request; 429 when over a limit.
    pub fn check(&self, what: Anonymous, addr: IpAddr, tenant: Option<&str>) -> Result<(), Error> {
        let addr = client_key(addr);
        let clock = DefaultClock::default();
        let (limiter, label) = match what {
            Anonymous::SignIn => (&self.sign_in_addr, "sign-in requests"),
            Anonymous::Tsa => (&self.tsa_addr, "timestamp requests"),
            Anonymous::Share => (&self.share_addr, "share-link requests"),
            Anonymous::PublicLog => (&self.public_log_addr, "public log requests"),
            Anonymous::Public => (&self.public_addr, "public portal downloads"),
        };
        if let Err(n) = limiter.check_key(&addr) {
            return Err(too_many(n.wait_time_from(clock.now()), label));
        }
        let per_tenant = match what {
            Anonymous::SignIn => Some(&self.sign_in_tenant),
            Anonymous::Public => Some(&self.public_tenant),
            _ => None,
        };
        if let (Some(l), Some(t)) = (per_tenant, tenant) {
            // Only tenants that exist reach here, so the key space is bounded.
            if let Err(n) = l.check_key(&t.to_owned()) {
                return Err(too_many(n.wait_time_from(clock.now()), label));
            }
        }
        Ok(())
    }

    /// Counts one download through share link `link_id` (only links that
    /// exist get here, so the key space is bounded); 429 when over.
    pub fn check_share_link(&self, link_id: &str) -> Result<(), Error> {
        self.share_link.check_key(&link_id.to_owned()).map_err(|n| {
            too_many(
                n.wait_time_from(DefaultClock::default().now()),
                "downloads through this share link",
            )
        })
    }

    /// Refuses an address whose failed authentications used up their
    /// budget, before its credentials are even looked at.
    pub fn check_auth_allowed(&self, addr: IpAddr) -> Result<(), Error> {
        let addr = client_key(addr);
        let now = Instant::now();
        let mut b = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        match b.get(&addr) {
            Some(until) if *until > now => Err(too_many(*until - now, "failed authentications")),
            Some(_) => {
                b.remove(&addr);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts one failed authentication; when the address's budget is used
    /// up it is blocked until the budget has room again.
    pub fn auth_failed(&self, addr: IpAddr) {
        let addr = client_key(addr);
        let clock = DefaultClock::default();
        if let Err(n) = self.auth_fail_addr.check_key(&addr) {
            let until = Instant::now() + n.wait_time_from(clock.now()).max(Duration::from_secs(1));
            let mut b = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            if b.len() >= MAX_BLOCKED {
                let now = Instant::now();
                b.retain(|_, t| *t > now);
            }
            if b.len() < MAX_BLOCKED {
                b.insert(addr, until);
            }
        }
    }

    /// Forgets keys whose budgets are full again, and expired blocks.
    pub fn prune(&self) {
        for l in [
            &self.sign_in_addr,
            &self.tsa_addr,
            &self.share_addr,
            &self.public_log_addr,
            &self.public_addr,
            &self.auth_fail_addr,
        ] {
            l.retain_recent();
            l.shrink_to_fit();
        }
        for l in [&self.sign_in_tenant, &self.public_tenant] {
            l.retain_recent();
            l.shrink_to_fit();
        }
        self.share_link.retain_recent();
        self.share_link.shrink_to_fit();
        let now = Instant::now();
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, t| *t > now);
    }

    /// How many keys the limiters hold (for tests and metrics).
    pub fn keys(&self) -> usize {
        self.sign_in_addr.len()
            + self.sign_in_tenant.len()
            + self.tsa_addr.len()
            + self.share_addr.len()
            + self.share_link.len()
            + self.public_log_addr.len()
            + self.public_addr.len()
            + self.public_tenant.len()
            + self.auth_fail_addr.len()
            + self.blocked.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_limited_as_its_64() {
        let l = tight();
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        l.check(Anonymous::Tsa, a("2001:db8:1:2::1"), None).unwrap();
        l.check(Anonymous::Tsa, a("2001:db8:1:2::ffff"), None)
            .unwrap();
        assert!(
            l.check(Anonymous::Tsa, a("2001:db8:1:2:3::9"), None)
                .is_err(),
            "the same /64"
        );
        l.check(Anonymous::Tsa, a("2001:db8:1:3::1"), None).unwrap();
    }

    fn tight() -> Limits {
        Limits::new(LimitConfig {
            sign_in_per_address: 3,
            sign_in_per_tenant: 5,
            tsa_per_address: 2,
            auth_failures_per_address: 2,
            share_per_address: 2,
            share_per_link: 3,
            public_log_per_address: 2,
            public_per_address: 2,
            public_per_tenant: 3,
        })
    }

    #[test]
    fn sign_ins_are_limited_per_address_and_per_tenant() {
        let l = tight();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            l.check(Anonymous::SignIn, a, Some("acme")).unwrap();
        }
        let e = l.check(Anonymous::SignIn, a, Some("acme")).unwrap_err();
        assert!(
            matches!(e, Error::TooManyRequests { retry_after_secs, .. } if retry_after_secs >= 1)
        );
        // Another address still has its own budget, until the tenant's is spent.
        l.check(Anonymous::SignIn, b, Some("acme")).unwrap();
        l.check(Anonymous::SignIn, b, Some("acme")).unwrap();
        assert!(l.check(Anonymous::SignIn, b, Some("acme")).is_err());
        // The TSA limit is separate, and so is the public log's.
        l.check(Anonymous::Tsa, a, None).unwrap();
        l.check(Anonymous::PublicLog, a, None).unwrap();
        l.check(Anonymous::PublicLog, a, None).unwrap();
        assert!(l.check(Anonymous::PublicLog, a, None).is_err());
        l.check(Anonymous::PublicLog, b, None).unwrap();
    }

    #[test]
    fn failed_authentications_block_the_address_before_checking() {
        let l = tight();
        let a: IpAddr = "198.51.100.7".parse().unwrap();
        l.check_auth_allowed(a).unwrap();
        l.auth_failed(a);
        l.auth_failed(a);
        l.check_auth_allowed(a).unwrap();
        l.auth_failed(a); // over budget: blocked
        assert!(l.check_auth_allowed(a).is_err());
        let other: IpAddr = "198.51.100.8".parse().unwrap();
        l.check_auth_allowed(other).unwrap();
        l.prune();
        assert!(
            l.check_auth_allowed(a).is_err(),
            "pruning keeps live blocks"
        );
    }
}
