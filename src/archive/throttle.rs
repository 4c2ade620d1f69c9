//! Bandwidth cap: a token bucket shared by every upload of a run, and a reader that draws from
//! it as an upload body is read, so the bytes sent per second stay under the cap.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bucket's arithmetic, kept apart from the clock so it can be tested.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Bytes per second.
    pub rate: f64,
    /// Largest burst, in bytes.
    pub burst: f64,
    /// Tokens available (negative: borrowed, to be waited for).
    pub tokens: f64,
    /// When `tokens` was last brought up to date.
    pub last: Instant,
}

impl Bucket {
    /// A full bucket at `rate` bytes per second.
    pub fn new(rate: u64, now: Instant) -> Self {
        let rate = rate.max(1) as f64;
        // a quarter of a second of traffic, at least 16 KiB: smooth but not chatty
        let burst = (rate / 4.0).max(16.0 * 1024.0);
        Bucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes `n` bytes at `now`; returns how long the caller must wait before sending them.
    pub fn take(&mut self, n: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// A bandwidth cap shared by the threads of a run.
#[derive(Debug)]
pub struct Throttle {
    bucket: Mutex<Bucket>,
}

impl Throttle {
    /// A cap of `rate` bytes per second.
    pub fn new(rate: u64) -> Arc<Self> {
        Arc::new(Throttle {
            bucket: Mutex::new(Bucket::new(rate, Instant::now())),
        })
    }

    /// The cap in bytes per second.
    pub fn rate(&self) -> u64 {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner()).rate as u64
    }

    /// Blocks until `n` more bytes may be sent.
    pub fn take(&self, n: u64) {
        let wait = self
            .bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(n, Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// A reader that draws every byte it yields from a [`Throttle`] (in slices of at most 16 KiB).
pub struct Throttled<R> {
    inner: R,
    throttle: Option<Arc<Throttle>>,
}

impl<R: Read> Throttled<R> {
    /// Wraps `inner`; with no throttle it reads at full speed.
    pub fn new(inner: R, throttle: Option<Arc<Throttle>>) -> Self {
        Throttled { inner, throttle }
    }
}

impl<R: Read> Read for Throttled<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(t) = &self.throttle else {
            return self.inner.read(buf);
        };
        let max = buf.len().min(16 * 1024);
        let n = self.inner.read(&mut buf[..max])?;
        t.take(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_holds_the_rate_over_time() {
        let t0 = Instant::now();
        let mut b = Bucket::new(1_000_000, t0);
        // the burst goes at once, the rest waits at the rate
        assert_eq!(b.take(250_000, t0), Duration::ZERO);
        let w = b.take(1_000_000, t0);
        assert!((w.as_secs_f64() - 1.0).abs() < 1e-6, "{w:?}");
        // 10 MB taken in 64 KiB slices, each sent when allowed: the clock ends at ≈ 10 s
        let mut b = Bucket::new(1_000_000, t0);
        let mut now = t0;
        let mut sent = 0u64;
        while sent < 10_000_000 {
            now += b.take(65_536, now);
            sent += 65_536;
        }
        let secs = now.duration_since(t0).as_secs_f64();
        let expected = (sent as f64 - b.burst) / 1e6;
        assert!((secs - expected).abs() < 0.01, "{secs} vs {expected}");
        // idle time refills only up to the burst
        let later = now + Duration::from_secs(100);
        assert_eq!(b.take(1, later), Duration::ZERO);
        assert!(b.tokens <= b.burst);
    }
}
