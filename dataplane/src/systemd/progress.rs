//! Whether every worker still makes progress, judged from successive readings of the workers'
//! poll counters alone: a worker whose count has not moved for longer than the limit (the
//! watchdog period) is stalled, and the keepalive is withheld.
//!
//! Workers publish their counters every 64 polls (and on every poll once idle), so a running
//! worker's count moves many times a second; one stuck in a loop, blocked, or gone does not.

use std::time::{Duration, Instant};

/// What the poll counters say at one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Some worker has not polled yet, within the limit.
    Starting,
    /// Every worker has polled, and each one's count moved within the limit.
    Running,
    /// This worker's count has not moved for this long (more than the limit).
    Stalled { worker: usize, since: Duration },
}

/// The last poll count of each worker and when it last moved.
#[derive(Debug, Clone)]
pub struct WorkerProgress {
    limit: Duration,
    polls: Vec<u64>,
    moved_at: Vec<Instant>,
}

impl WorkerProgress {
    /// `workers` workers, none polled yet at `now`; a count standing still longer than `limit`
    /// is a stall.
    pub fn new(workers: usize, now: Instant, limit: Duration) -> WorkerProgress {
        WorkerProgress {
            limit,
            polls: vec![0; workers],
            moved_at: vec![now; workers],
        }
    }

    /// Takes the counters read at `now` (one per worker, in order) and says what they show.
    /// Only the counters and the times decide: the same readings give the same answers.
    pub fn observe(&mut self, now: Instant, polls: impl IntoIterator<Item = u64>) -> Progress {
        for (i, p) in polls.into_iter().enumerate().take(self.polls.len()) {
            if p != self.polls[i] {
                self.polls[i] = p;
                self.moved_at[i] = now;
            }
        }
        let stalled = self
            .moved_at
            .iter()
            .map(|t| now.saturating_duration_since(*t))
            .enumerate()
            .filter(|(_, still)| *still > self.limit)
            .max_by_key(|(_, still)| *still);
        match stalled {
            Some((worker, since)) => Progress::Stalled { worker, since },
            None if self.polls.contains(&0) => Progress::Starting,
            None => Progress::Running,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(2);

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn starting_until_every_worker_has_polled() {
        let t0 = Instant::now();
        let mut w = WorkerProgress::new(2, t0, LIMIT);
        assert_eq!(w.observe(at(t0, 10), [0, 0]), Progress::Starting);
        assert_eq!(w.observe(at(t0, 20), [64, 0]), Progress::Starting);
        assert_eq!(w.observe(at(t0, 30), [128, 64]), Progress::Running);
    }

    #[test]
    fn a_worker_that_never_polls_stalls_after_the_limit() {
        let t0 = Instant::now();
        let mut w = WorkerProgress::new(2, t0, LIMIT);
        assert_eq!(w.observe(at(t0, 1999), [64, 0]), Progress::Starting);
        assert_eq!(w.observe(at(t0, 2000), [128, 0]), Progress::Starting);
        assert_eq!(
            w.observe(at(t0, 2001), [192, 0]),
            Progress::Stalled {
                worker: 1,
                since: Duration::from_millis(2001)
            }
        );
    }

    #[test]
    fn a_count_that_stops_moving_withholds_until_it_moves_again() {
        let t0 = Instant::now();
        let mut w = WorkerProgress::new(2, t0, LIMIT);
        assert_eq!(w.observe(at(t0, 100), [64, 64]), Progress::Running);
        // Worker 0 stops at 64 while worker 1 goes on.
        assert_eq!(w.observe(at(t0, 1100), [64, 640]), Progress::Running);
        assert_eq!(w.observe(at(t0, 2100), [64, 1280]), Progress::Running);
        assert_eq!(
            w.observe(at(t0, 2101), [64, 1344]),
            Progress::Stalled {
                worker: 0,
                since: Duration::from_millis(2001)
            }
        );
        assert_eq!(
            w.observe(at(t0, 5000), [64, 9000]),
            Progress::Stalled {
                worker: 0,
                since: Duration::from_millis(4900)
            }
        );
        // It moves again: the keepalive may go.
        assert_eq!(w.observe(at(t0, 5020), [128, 9064]), Progress::Running);
    }

    #[test]
    fn the_longest_stall_is_named() {
        let t0 = Instant::now();
        let mut w = WorkerProgress::new(3, t0, LIMIT);
        w.observe(at(t0, 10), [1, 1, 1]);
        w.observe(at(t0, 500), [1, 2, 1]);
        assert_eq!(
            w.observe(at(t0, 3000), [1, 2, 2]),
            Progress::Stalled {
                worker: 0,
                since: Duration::from_millis(2990)
            }
        );
    }

    #[test]
    fn no_workers_is_running() {
        let t0 = Instant::now();
        let mut w = WorkerProgress::new(0, t0, LIMIT);
        assert_eq!(w.observe(at(t0, 5000), []), Progress::Running);
    }
}
