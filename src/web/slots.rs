//! A counting gate: at most N holders at once (the command workers, the long-polls, the
//! connections), taken with or without waiting and given back when the permit drops; and the
//! same per client address ([`PerAddress`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// At most N connections per client address (loopback, where a reverse proxy speaks for
/// everyone, is not counted).
pub struct PerAddress {
    held: Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// A connection counted for its address; dropping it gives it back.
pub struct AddressPermit(Arc<PerAddress>, Option<IpAddr>);

impl Drop for AddressPermit {
    fn drop(&mut self) {
        let Some(ip) = self.1 else {
            return;
        };
        if let Ok(mut held) = self.0.held.lock() {
            if let Some(n) = held.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    held.remove(&ip);
                }
            }
        }
    }
}

impl PerAddress {
    /// A gate of `max` per address.
    pub fn new(max: usize) -> Arc<PerAddress> {
        Arc::new(PerAddress {
            held: Mutex::new(HashMap::new()),
            max,
        })
    }

    /// A slot for `ip` now, or none.
    pub fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<AddressPermit> {
        if ip.is_loopback() {
            return Some(AddressPermit(self.clone(), None));
        }
        let mut held = self.held.lock().ok()?;
        let n = held.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressPermit(self.clone(), Some(ip)))
    }
}

/// The gate.
pub struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// A taken slot; dropping it gives it back.
pub struct Permit(Arc<Slots>);

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut used) = self.0.used.lock() {
            *used = used.saturating_sub(1);
        }
        self.0.freed.notify_one();
    }
}

impl Slots {
    /// A gate of `max` slots.
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            used: Mutex::new(0),
            freed: Condvar::new(),
            max,
        })
    }

    /// A slot now, or none.
    pub fn try_take(self: &Arc<Self>) -> Option<Permit> {
        self.take_within(Duration::ZERO)
    }

    /// A slot within `wait`, or none.
    pub fn take_within(self: &Arc<Self>, wait: Duration) -> Option<Permit> {
        let used = self.used.lock().ok()?;
        let (mut used, _) = self
            .freed
            .wait_timeout_while(used, wait, |u| *u >= self.max)
            .ok()?;
        if *used >= self.max {
            return None;
        }
        *used += 1;
        Some(Permit(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address() {
        let g = PerAddress::new(2);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let one = g.try_take(a).expect("1");
        let _two = g.try_take(a).expect("2");
        assert!(g.try_take(a).is_none());
        assert!(g.try_take(b).is_some());
        drop(one);
        assert!(g.try_take(a).is_some());
        let lo: IpAddr = "127.0.0.1".parse().expect("ip");
        let _many: Vec<_> = (0..10).map(|_| g.try_take(lo).expect("loopback")).collect();
    }

    #[test]
    fn at_most_max_and_given_back() {
        let s = Slots::new(2);
        let a = s.try_take().expect("first");
        let _b = s.try_take().expect("second");
        assert!(s.try_take().is_none());
        let s2 = s.clone();
        let waiter = std::thread::spawn(move || s2.take_within(Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_millis(50));
        drop(a);
        assert!(waiter.join().expect("join"));
    }
}
