//! A TCP relay for tests: forwards each loopback connection to a target port both ways, counts
//! the bytes, and can cut every open connection once (after N bytes from the clients, when the
//! target starts answering after N bytes, or on demand), then refuse new ones for a while.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When an armed relay cuts, counted in client bytes passed since [`Relay::arm`].
#[derive(Debug, Clone, Copy)]
pub enum Trigger {
    /// Once this many client bytes have passed: the bytes up to there reach the target, the
    /// rest of that chunk does not, and every open connection is cut (a sender cut mid-data).
    ClientBytes(u64),
    /// Once this many client bytes have passed, the next bytes the target sends (its answer) are
    /// dropped and every open connection is cut (the target acted, the answer was lost).
    Response(u64),
}

/// What the relay saw when it cut.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    /// Connections open at that moment.
    pub open: usize,
    /// Client bytes forwarded in all, up to the cut.
    pub client_bytes: u64,
}

#[derive(Default)]
struct State {
    /// Open connections: id, the client's socket, the target's socket.
    open: Vec<(u64, TcpStream, TcpStream)>,
    next_id: u64,
    /// The armed trigger and the client bytes counted when it was armed.
    trigger: Option<(Trigger, u64)>,
    refuse_after_cut: Duration,
    refuse_until: Option<Instant>,
    cut: Option<Cut>,
}

struct Shared {
    target: u16,
    client_bytes: AtomicU64,
    target_bytes: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    stop: AtomicBool,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shuts every open connection down (both sides, both ways) and records the cut.
    fn cut_all(&self, st: &mut State) {
        for (_, a, b) in &st.open {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
        st.cut = Some(Cut {
            open: st.open.len(),
            client_bytes: self.client_bytes.load(Ordering::SeqCst),
        });
        st.trigger = None;
        if !st.refuse_after_cut.is_zero() {
            st.refuse_until = Some(Instant::now() + st.refuse_after_cut);
        }
    }
}

/// A relay on a loopback port; stops (and cuts what is open) on drop.
pub struct Relay {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts relaying a new loopback port to `127.0.0.1:target`.
    pub fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay bind");
        let port = listener.local_addr().expect("relay addr").port();
        let shared = Arc::new(Shared {
            target,
            client_bytes: AtomicU64::new(0),
            target_bytes: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let s = shared.clone();
        let accept = std::thread::spawn(move || accept_loop(listener, s));
        Relay {
            port,
            shared,
            accept: Some(accept),
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Arms a one-time cut; after it, new connections are refused for `refuse_after` (zero:
    /// accepted again at once).
    pub fn arm(&self, trigger: Trigger, refuse_after: Duration) {
        let mut st = self.shared.state();
        st.trigger = Some((trigger, self.shared.client_bytes.load(Ordering::SeqCst)));
        st.refuse_after_cut = refuse_after;
        st.cut = None;
    }

    /// Cuts every open connection now; returns how many were open.
    pub fn cut_now(&self) -> usize {
        let mut st = self.shared.state();
        self.shared.cut_all(&mut st);
        st.open.len()
    }

    /// Refuses new connections (accepted and closed at once) for `d`.
    pub fn refuse_for(&self, d: Duration) {
        self.shared.state().refuse_until = Some(Instant::now() + d);
    }

    /// The cut, once it happened.
    pub fn cut(&self) -> Option<Cut> {
        self.shared.state().cut
    }

    /// Bytes forwarded from clients to the target.
    pub fn client_bytes(&self) -> u64 {
        self.shared.client_bytes.load(Ordering::SeqCst)
    }

    /// Bytes forwarded from the target to clients.
    pub fn target_bytes(&self) -> u64 {
        self.shared.target_bytes.load(Ordering::SeqCst)
    }

    /// Connections relayed so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // wake the accept loop
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        let st = self.shared.state();
        for (_, a, b) in &st.open {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let refusing = shared
            .state()
            .refuse_until
            .is_some_and(|t| Instant::now() < t);
        if refusing {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect(("127.0.0.1", shared.target)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        ) else {
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let id = {
            let mut st = shared.state();
            st.next_id += 1;
            let id = st.next_id;
            st.open.push((id, c3, s3));
            id
        };
        let alive = Arc::new(AtomicU64::new(2));
        for (from, to, upstream) in [(client, s2, true), (server, c2, false)] {
            let (shared, alive) = (shared.clone(), alive.clone());
            std::thread::spawn(move || {
                pump(&shared, from, to, upstream);
                if alive.fetch_sub(1, Ordering::SeqCst) == 1 {
                    shared.state().open.retain(|(i, _, _)| *i != id);
                }
            });
        }
    }
}

/// What to do with a chunk read from one side.
enum Step {
    Forward(usize),
    /// Forward this many bytes, then cut.
    ForwardThenCut(usize),
    /// Drop the chunk and cut.
    Cut,
}

fn pump(shared: &Shared, mut from: TcpStream, mut to: TcpStream, upstream: bool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => {
                // pass the end on: the other side may still answer
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(_) => {
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        };
        let step = {
            let mut st = shared.state();
            let passed = shared.client_bytes.load(Ordering::SeqCst);
            let step = match st.trigger {
                Some((Trigger::ClientBytes(limit), base)) if upstream => {
                    let left = (base + limit).saturating_sub(passed);
                    if (n as u64) >= left {
                        Step::ForwardThenCut(left as usize)
                    } else {
                        Step::Forward(n)
                    }
                }
                Some((Trigger::Response(limit), base)) if !upstream && passed >= base + limit => {
                    Step::Cut
                }
                _ => Step::Forward(n),
            };
            let forwarded = match step {
                Step::Forward(k) | Step::ForwardThenCut(k) => k as u64,
                Step::Cut => 0,
            };
            let counter = if upstream {
                &shared.client_bytes
            } else {
                &shared.target_bytes
            };
            counter.fetch_add(forwarded, Ordering::SeqCst);
            if !matches!(step, Step::Forward(_)) {
                // taken now so that no other connection triggers a second cut
                st.trigger = None;
            }
            step
        };
        let (k, then_cut) = match step {
            Step::Forward(k) => (k, false),
            Step::ForwardThenCut(k) => (k, true),
            Step::Cut => (0, true),
        };
        if k > 0 && to.write_all(&buf[..k]).is_err() {
            let _ = from.shutdown(Shutdown::Both);
            return;
        }
        if then_cut {
            let mut st = shared.state();
            shared.cut_all(&mut st);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that keeps what it receives until the connection ends and echoes nothing back
    /// but a one-byte answer per read.
    fn sink() -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(b"k").is_err() {
                            break;
                        }
                        got.extend_from_slice(&buf[..n]);
                    }
                    let _ = tx.send(got);
                });
            }
        });
        (port, rx)
    }

    fn wait_for(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn relays_counts_cuts_once_and_refuses_for_a_while() {
        let (port, got) = sink();
        let relay = Relay::start(port);
        // forwarded both ways and counted
        let mut c = TcpStream::connect(("127.0.0.1", relay.port())).expect("connect");
        c.write_all(b"hello").expect("write");
        let mut one = [0u8; 1];
        c.read_exact(&mut one).expect("answer");
        wait_for("the bytes", || relay.client_bytes() == 5);
        assert!(relay.target_bytes() >= 1);
        // cut after 3 more bytes: exactly those reach the target, the connection ends
        relay.arm(Trigger::ClientBytes(3), Duration::from_millis(500));
        c.write_all(b"abcdef").expect("write");
        wait_for("the cut", || relay.cut().is_some());
        assert_eq!(got.recv().expect("received"), b"helloabc");
        let cut = relay.cut().expect("cut");
        assert_eq!((cut.open, cut.client_bytes), (1, 8));
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
        // refused for a while after the cut: accepted and closed at once
        let mut r = TcpStream::connect(("127.0.0.1", relay.port())).expect("connect");
        assert_eq!(r.read(&mut one).unwrap_or(0), 0, "refused");
        wait_for("a refusal", || relay.refused() == 1);
        std::thread::sleep(Duration::from_millis(600));
        // once only, then accepted again; a cut on demand
        let mut c = TcpStream::connect(("127.0.0.1", relay.port())).expect("connect");
        c.write_all(b"x").expect("write");
        c.read_exact(&mut one).expect("answer");
        assert_eq!(relay.cut_now(), 1);
        assert_eq!(c.read(&mut one).unwrap_or(0), 0, "cut");
        relay.refuse_for(Duration::from_secs(5));
        let mut r = TcpStream::connect(("127.0.0.1", relay.port())).expect("connect");
        assert_eq!(r.read(&mut one).unwrap_or(0), 0, "refused");
        assert_eq!(relay.accepted(), 2);
    }
}
