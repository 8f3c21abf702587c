//! The webhooks' way out: every receiver address is checked against the egress policy
//! ([`crate::domain::egress`]) when a webhook is made and again, after DNS resolution, at
//! every delivery, through the dispatcher client's own resolver: a name that resolves to a
//! refused address is never connected to, and the address checked is the one connected
//! to (no second lookup between the check and the connection).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::domain::egress::allowed;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("url must be an https:// URL with a host")]
    NotHttps,
    #[error("url must reach the internet: loopback, private, link-local and metadata addresses are refused")]
    Refused,
}

/// The host of a URL this service may deliver to: https (http only to loopback, where
/// that is allowed), no user info, an address on the internet. `Ok` with the scheme. A name
/// that does not resolve yet is taken (a receiver may be set up after its webhook): the
/// dispatcher's resolver checks it at every delivery. A name
/// that does not resolve yet is taken (a receiver may be set up after its webhook): the
/// dispatcher's resolver checks it at every delivery.
pub async fn check(url: &str, allow_loopback: bool) -> Result<&'static str, EgressError> {
    let parsed = Url::parse(url).map_err(|_| EgressError::NotHttps)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(EgressError::NotHttps);
    }
    let addresses: Vec<IpAddr> = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => {
            let port = parsed.port_or_known_default().unwrap_or(443);
            tokio::net::lookup_host((name, port)).await.map(|found| found.map(|a| a.ip()).collect()).unwrap_or_default()
        }
        None => return Err(EgressError::NotHttps),
    };
    if !addresses.iter().all(|ip| allowed(*ip, allow_loopback)) {
        return Err(EgressError::Refused);
    }
    match parsed.scheme() {
        "https" => Ok("https"),
        "http" if allow_loopback && !addresses.is_empty() && addresses.iter().all(IpAddr::is_loopback) => Ok("http"),
        _ => Err(EgressError::NotHttps),
    }
}

/// Whether a delivery may go to `url` at all before any lookup: https (or http to loopback
/// where allowed), and an address literal that the policy allows. Names are checked by
/// [`Resolver`] when the client connects.
pub fn literal_allowed(url: &str, allow_loopback: bool) -> bool {
    let Ok(parsed) = Url::parse(url) else { return false };
    let literal = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return false,
    };
    let scheme_ok = parsed.scheme() == "https" || (allow_loopback && parsed.scheme() == "http");
    scheme_ok && literal.is_none_or(|ip| allowed(ip, allow_loopback))
}

/// The dispatcher client's DNS: the system's answers, less every address the policy
/// refuses; none left is a failed lookup, so the attempt fails without connecting.
#[derive(Debug, Clone, Copy)]
pub struct Resolver {
    pub allow_loopback: bool,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.into_iter().filter(|a| allowed(a.ip(), allow_loopback)).collect();
            if kept.is_empty() {
                return Err(format!("{host} resolves to no address a webhook may reach").into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

impl Resolver {
    pub fn shared(allow_loopback: bool) -> Arc<Resolver> {
        Arc::new(Resolver { allow_loopback })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_delivery_never_connects_to_a_refused_address_whatever_the_name() {
        let name: Name = "localhost".parse().unwrap();
        assert!(Resolver { allow_loopback: false }.resolve(name).await.is_err(), "localhost is loopback");
        let name: Name = "localhost".parse().unwrap();
        let found: Vec<SocketAddr> = Resolver { allow_loopback: true }.resolve(name).await.unwrap().collect();
        assert!(found.iter().all(|a| a.ip().is_loopback()) && !found.is_empty());
        for refused in ["http://127.0.0.1/", "https://169.254.169.254/", "https://[::ffff:10.0.0.1]/", "ftp://x/"] {
            assert!(!literal_allowed(refused, false), "{refused}");
        }
        assert!(literal_allowed("https://hooks.example.com/", false), "a name is checked when it resolves");
        assert!(literal_allowed("http://127.0.0.1:9000/", true));
    }
}
