//! Size-hint arithmetic that cannot overflow.

/// The hint of a stream holding `in_flight` items with a source that reports
/// `source` (ignored once the source has ended).
pub(crate) fn with_source(
    in_flight: usize,
    source: (usize, Option<usize>),
    source_done: bool,
) -> (usize, Option<usize>) {
    if source_done {
        return (in_flight, Some(in_flight));
    }
    let (low, high) = source;
    (
        in_flight.saturating_add(low),
        high.and_then(|high| in_flight.checked_add(high)),
    )
}

#[cfg(test)]
mod tests {
    use super::with_source;

    #[test]
    fn adds_in_flight_to_both_bounds() {
        assert_eq!(with_source(3, (4, Some(10)), false), (7, Some(13)));
        assert_eq!(with_source(0, (0, None), false), (0, None));
    }

    #[test]
    fn saturates_low_and_drops_high_on_overflow() {
        assert_eq!(
            with_source(2, (usize::MAX, None), false),
            (usize::MAX, None)
        );
        assert_eq!(
            with_source(2, (usize::MAX - 1, Some(usize::MAX - 1)), false),
            (usize::MAX, None)
        );
        assert_eq!(
            with_source(1, (0, Some(usize::MAX - 1)), false),
            (1, Some(usize::MAX))
        );
    }

    #[test]
    fn exact_once_the_source_has_ended() {
        assert_eq!(with_source(5, (100, None), true), (5, Some(5)));
        assert_eq!(with_source(0, (0, Some(0)), true), (0, Some(0)));
    }
}
