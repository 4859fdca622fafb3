//! Admission of new sockets: how many are open per remote address, and how many are upgraded but
//! not yet authenticated, node-wide (the third cap, sockets per user, is counted where sessions
//! are registered: [`Hub::try_join`](crate::hub::Hub::try_join)).
//!
//! A socket holds a slot of each kind it counts against; dropping the slot (the session actor is
//! dropped when its socket ends, however it ends) gives it back, so the counts cannot leak. Taking
//! a slot is one atomic check-and-increment: two upgrades racing for the last slot never both win.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use healing_protocol::Cap;
use parking_lot::Mutex;

/// A cap was full: which one, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub cap: Cap,
    pub max: usize,
}

/// The node's counts of sockets by remote address and of unauthenticated sockets.
#[derive(Default)]
pub struct Admission {
    unauthenticated: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// The address a socket is counted under: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64
/// prefix — one host usually holds a whole /64, so counting single addresses would not bound it.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

impl Admission {
    /// Takes one of the `max` sockets allowed from `ip`'s address.
    pub fn admit_address(self: &Arc<Self>, ip: IpAddr, max: usize) -> Result<AddressSlot, Refused> {
        let key = address_key(ip);
        let mut counts = self.by_address.lock();
        let n = counts.entry(key).or_insert(0);
        if *n >= max {
            if *n == 0 {
                counts.remove(&key);
            }
            return Err(Refused { cap: Cap::SocketsPerIp, max });
        }
        *n += 1;
        Ok(AddressSlot { admission: self.clone(), key })
    }

    /// Takes one of the `max` unauthenticated sockets allowed on this node.
    pub fn admit_unauthenticated(self: &Arc<Self>, max: usize) -> Result<UnauthenticatedSlot, Refused> {
        self.unauthenticated
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .map(|_| UnauthenticatedSlot { admission: self.clone() })
            .map_err(|_| Refused { cap: Cap::UnauthenticatedSockets, max })
    }

    /// Sockets upgraded and not yet authenticated, now.
    pub fn unauthenticated(&self) -> usize {
        self.unauthenticated.load(Ordering::Acquire)
    }

    /// Sockets open from `ip`'s address (see [`address_key`]), now.
    pub fn from_address(&self, ip: IpAddr) -> usize {
        self.by_address.lock().get(&address_key(ip)).copied().unwrap_or(0)
    }
}

/// One socket counted against its remote address; given back on drop.
pub struct AddressSlot {
    admission: Arc<Admission>,
    key: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.admission.by_address.lock();
        if let Some(n) = counts.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// One socket counted as unauthenticated; given back on drop (authenticated, or closed).
pub struct UnauthenticatedSlot {
    admission: Arc<Admission>,
}

impl Drop for UnauthenticatedSlot {
    fn drop(&mut self) {
        self.admission.unauthenticated.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The slots a new socket was admitted with; the session holds them for its life.
#[derive(Default)]
pub struct Admitted {
    pub address: Option<AddressSlot>,
    /// Given back as soon as the session is authenticated.
    pub unauthenticated: Option<UnauthenticatedSlot>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn address_slots_are_bounded_and_given_back() {
        let a = Arc::new(Admission::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let one = a.admit_address(ip, 2).unwrap();
        let two = a.admit_address(ip, 2).unwrap();
        assert_eq!(a.admit_address(ip, 2).err(), Some(Refused { cap: Cap::SocketsPerIp, max: 2 }));
        // Another address has its own allowance.
        let _other = a.admit_address("10.0.0.2".parse().unwrap(), 2).unwrap();
        drop(one);
        let _three = a.admit_address(ip, 2).unwrap();
        assert_eq!(a.from_address(ip), 2);
        drop(two);
        drop(_three);
        assert_eq!(a.from_address(ip), 0);
        assert!(a.by_address.lock().get(&ip).is_none(), "an empty entry was kept");
    }

    #[test]
    fn ipv6_counts_by_prefix_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn unauthenticated_slots_are_bounded_and_given_back() {
        let a = Arc::new(Admission::default());
        let one = a.admit_unauthenticated(1).unwrap();
        assert_eq!(a.admit_unauthenticated(1).err(), Some(Refused { cap: Cap::UnauthenticatedSockets, max: 1 }));
        assert_eq!(a.unauthenticated(), 1);
        drop(one);
        assert_eq!(a.unauthenticated(), 0);
        let _again = a.admit_unauthenticated(1).unwrap();
    }
}
