//! The time an invocation may spend acting. A Lambda invocation is killed at its
//! deadline, mid-call and with no report; a sweep therefore stops acting while a
//! margin is left for its report and its events, and continues in a new invocation
//! (see [`super::trigger::Continuation`]).

use std::time::{Duration, Instant};

/// Time kept back at the end of an invocation for the report and the events: 20 s,
/// or a fifth of the invocation when it is shorter than 100 s (a function left at
/// Lambda's 3-second default timeout still acts for 2.4 s instead of never).
pub const REPORT_MARGIN: Duration = Duration::from_secs(20);

/// The longest a Lambda invocation can run.
pub const LAMBDA_MAX_DURATION: Duration = Duration::from_secs(15 * 60);

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
    /// since the Unix epoch (the runtime's `Lambda-Runtime-Deadline-Ms`). A deadline
    /// already past when the invocation starts is no deadline a runtime gives (local
    /// emulators have been seen to send the timeout itself, e.g. 600000): the budget is
    /// then Lambda's longest invocation, 15 minutes, which no run can outlast anyway.
    pub fn lambda(deadline_ms: u64, now: std::time::SystemTime) -> Self {
        let deadline = std::time::UNIX_EPOCH + Duration::from_millis(deadline_ms);
        let left = match deadline.duration_since(now) {
            Ok(left) if !left.is_zero() => left,
            _ => {
                tracing::warn!(deadline_ms, "the invocation's deadline has passed already: assuming Lambda's 15-minute maximum");
                LAMBDA_MAX_DURATION
            }
        };
        Budget::until(Instant::now() + left, REPORT_MARGIN.min(left / 5))
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
        // 900 s: acting stops 20 s before the deadline.
        let long = Budget::lambda(ms(now + Duration::from_secs(900)), now);
        assert!(!long.exhausted());
        assert!(long
            .act_until
            .is_some_and(|until| until <= Instant::now() + Duration::from_secs(880)));
        // 3 s (Lambda's default timeout): it acts for the first 2.4 s.
        let short = Budget::lambda(ms(now + Duration::from_secs(3)), now);
        assert!(!short.exhausted());
        assert!(short
            .act_until
            .is_some_and(|until| until <= Instant::now() + Duration::from_millis(2400)));
        // A deadline already past (an emulator's relative value): Lambda's maximum.
        let impossible = Budget::lambda(600_000, now);
        assert!(!impossible.exhausted());
        assert!(impossible
            .act_until
            .is_some_and(|until| until > Instant::now() + Duration::from_secs(870)));
    }
}
