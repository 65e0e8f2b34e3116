//! The time an invocation may spend acting. A Lambda invocation is killed at its
//! deadline, mid-call and with no report; a sweep therefore stops acting while a
//! margin is left for its report and its events, and continues in a new invocation
//! (see [`super::trigger::Continuation`]).

use std::time::{Duration, Instant};

/// Time kept back at the end of an invocation for the report and the events.
pub const REPORT_MARGIN: Duration = Duration::from_secs(20);

/// Until when a sweep may start another call that changes the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    act_until: Option<Instant>,
}

impl Budget {
    /// No limit (a command line run without `--max-duration`).
    pub fn unlimited() -> Self {
        Budget { act_until: None }
    }

    /// Acting stops `margin` before `deadline`.
    pub fn until(deadline: Instant, margin: Duration) -> Self {
        Budget {
            act_until: Some(deadline.checked_sub(margin).unwrap_or(deadline)),
        }
    }

    /// The budget of a Lambda invocation whose deadline is `deadline_ms` milliseconds
    /// since the Unix epoch (the runtime's `Lambda-Runtime-Deadline-Ms`).
    pub fn lambda(deadline_ms: u64, now: std::time::SystemTime) -> Self {
        let deadline = std::time::UNIX_EPOCH + Duration::from_millis(deadline_ms);
        let left = deadline.duration_since(now).unwrap_or_default();
        Budget::until(Instant::now() + left, REPORT_MARGIN)
    }

    /// Whether the time to act is over.
    pub fn exhausted(&self) -> bool {
        self.act_until.is_some_and(|until| Instant::now() >= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acting_stops_a_margin_before_the_deadline() {
        assert!(!Budget::unlimited().exhausted());
        let soon = Instant::now() + Duration::from_secs(10);
        assert!(Budget::until(soon, Duration::from_secs(11)).exhausted());
        assert!(!Budget::until(soon, Duration::from_secs(5)).exhausted());
        let now = std::time::SystemTime::now();
        let in_a_minute = now + Duration::from_secs(60);
        let ms = |time: std::time::SystemTime| {
            time.duration_since(std::time::UNIX_EPOCH)
                .map(|since| since.as_millis() as u64)
                .unwrap_or_default()
        };
        assert!(!Budget::lambda(ms(in_a_minute), now).exhausted());
        assert!(Budget::lambda(ms(now + Duration::from_secs(19)), now).exhausted());
        assert!(Budget::lambda(ms(now), now + Duration::from_secs(5)).exhausted());
    }
}
