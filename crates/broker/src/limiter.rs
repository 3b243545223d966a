//! Fixed-memory rate limiter.
//!
//! A set-associative table allocated once at start: a key (hashed with a keyed,
//! per-process random SipHash) maps to one bucket of [`WAYS`] slots; each slot
//! holds a fixed window counter. When a bucket is full, an expired slot is
//! reused, otherwise the slot with the oldest window is evicted. Memory never
//! grows, whatever the number of distinct keys (random codes, spoofed clients).
//!
//! Eviction fails open for the evicted key (its count restarts), which an
//! attacker could exploit only by flooding the same bucket; the per-client
//! limit in front of the per-code one bounds what a single client can flood.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;
use std::time::Instant;

/// Slots per bucket.
pub const WAYS: usize = 8;
const SHARDS: usize = 16;

#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    /// Window start in seconds since the limiter was created, plus one (0 = empty).
    start: u32,
    count: u32,
}

/// A fixed-capacity windowed counter per key.
pub struct RateLimiter {
    shards: Box<[Mutex<Box<[Slot]>>]>,
    buckets_per_shard: usize,
    window_secs: u32,
    hasher: RandomState,
    epoch: Instant,
}

impl RateLimiter {
    /// A limiter holding at most about `capacity` keys, each counted over `window_secs`.
    pub fn new(capacity: usize, window_secs: u32) -> Self {
        let buckets_per_shard = (capacity / (SHARDS * WAYS)).max(1);
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(vec![Slot::default(); buckets_per_shard * WAYS].into_boxed_slice()))
            .collect();
        Self {
            shards,
            buckets_per_shard,
            window_secs: window_secs.max(1),
            hasher: RandomState::new(),
            epoch: Instant::now(),
        }
    }

    /// Number of slots (the most keys tracked at once).
    pub fn capacity(&self) -> usize {
        SHARDS * self.buckets_per_shard * WAYS
    }

    /// Number of occupied slots.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map(|g| g.iter().filter(|x| x.start != 0).count()).unwrap_or(0)).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seconds since the limiter was created (the `now` of [`Self::check_at`]).
    pub fn now(&self) -> u32 {
        u32::try_from(self.epoch.elapsed().as_secs()).unwrap_or(u32::MAX - 1)
    }

    /// Count one attempt for `key`; `false` when it exceeds `limit` in the window.
    /// A `limit` of 0 disables the check.
    pub fn check(&self, key: impl Hash, limit: u32) -> bool {
        self.check_at(key, limit, self.now())
    }

    /// [`Self::check`] at an explicit time (seconds since creation).
    pub fn check_at(&self, key: impl Hash, limit: u32, now: u32) -> bool {
        if limit == 0 {
            return true;
        }
        let h = self.hasher.hash_one(key);
        let shard = usize::try_from(h % SHARDS as u64).unwrap_or(0);
        let bucket = usize::try_from((h >> 8) % self.buckets_per_shard as u64).unwrap_or(0);
        let stamp = now.saturating_add(1);
        let Ok(mut table) = self.shards[shard].lock() else {
            // A poisoned lock means a panic elsewhere; refuse rather than guess.
            return false;
        };
        let slots = &mut table[bucket * WAYS..(bucket + 1) * WAYS];
        let live = |s: &Slot| s.start != 0 && stamp.saturating_sub(s.start) < self.window_secs;

        if let Some(slot) = slots.iter_mut().find(|s| s.start != 0 && s.key == h) {
            if !live(slot) {
                *slot = Slot { key: h, start: stamp, count: 1 };
                return true;
            }
            if slot.count >= limit {
                return false;
            }
            slot.count += 1;
            return true;
        }
        // New key: an empty or expired slot, else evict the oldest window.
        let idx = slots
            .iter()
            .position(|s| !live(s))
            .or_else(|| slots.iter().enumerate().min_by_key(|(_, s)| s.start).map(|(i, _)| i))
            .unwrap_or(0);
        slots[idx] = Slot { key: h, start: stamp, count: 1 };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleventh_attempt_in_a_window_is_refused() {
        let l = RateLimiter::new(1024, 60);
        for i in 0..10 {
            assert!(l.check_at(("1.2.3.4", "ABCD1234"), 10, 5), "attempt {i}");
        }
        assert!(!l.check_at(("1.2.3.4", "ABCD1234"), 10, 30));
        // Other keys are independent.
        assert!(l.check_at(("1.2.3.4", "WXYZ9876"), 10, 30));
        assert!(l.check_at(("5.6.7.8", "ABCD1234"), 10, 30));
        // The window ends 60 s after its first attempt.
        assert!(!l.check_at(("1.2.3.4", "ABCD1234"), 10, 64));
        assert!(l.check_at(("1.2.3.4", "ABCD1234"), 10, 65));
    }

    #[test]
    fn zero_limit_disables() {
        let l = RateLimiter::new(16, 60);
        for _ in 0..100 {
            assert!(l.check_at("k", 0, 0));
        }
        assert!(l.is_empty());
    }

    #[test]
    fn memory_is_fixed_under_a_flood_of_distinct_keys() {
        let l = RateLimiter::new(4096, 60);
        let cap = l.capacity();
        assert!(cap <= 4096);
        for i in 0..200_000u32 {
            assert!(l.check_at(("10.0.0.1", i), 10, 1));
        }
        assert!(l.len() <= cap);
        // A key inserted last is still tracked and limited.
        for _ in 0..9 {
            assert!(l.check_at(("10.0.0.1", 199_999u32), 10, 1));
        }
        assert!(!l.check_at(("10.0.0.1", 199_999u32), 10, 1));
    }
}
