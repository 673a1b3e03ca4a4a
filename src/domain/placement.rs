//! The life of a placement: its states and the only moves between them.

crate::named_states! {
    /// Where a placement stands.
    pub enum PlacementStatus {
        Offered => "offered",
        Confirmed => "confirmed",
        Declined => "declined",
        Withdrawn => "withdrawn",
        Completed => "completed",
    }
}

/// What someone does to a placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementAction {
    /// The base confirms the intern.
    Confirm,
    /// The base declines the intern, with a reason.
    Decline,
    /// The student gives the placement up.
    Withdraw,
    /// The internship is over.
    Complete,
}

impl PlacementStatus {
    /// The states that hold a seat and count as the student's placement in the cycle.
    pub const HOLDING_A_SEAT: [PlacementStatus; 3] = [
        PlacementStatus::Offered,
        PlacementStatus::Confirmed,
        PlacementStatus::Completed,
    ];

    /// Whether the placement holds a seat at its base.
    pub fn holds_seat(self) -> bool {
        Self::HOLDING_A_SEAT.contains(&self)
    }

    /// The state an action leads to from this one, or `None` when the action is not
    /// allowed here.
    pub fn after(self, action: PlacementAction) -> Option<PlacementStatus> {
        use PlacementAction::*;
        use PlacementStatus::*;
        match (self, action) {
            (Offered, Confirm) => Some(Confirmed),
            (Offered, Decline) => Some(Declined),
            (Offered | Confirmed, Withdraw) => Some(Withdrawn),
            (Confirmed, Complete) => Some(Completed),
            _ => None,
        }
    }
}

impl PlacementAction {
    pub fn verb(self) -> &'static str {
        match self {
            PlacementAction::Confirm => "confirm",
            PlacementAction::Decline => "decline",
            PlacementAction::Withdraw => "withdraw",
            PlacementAction::Complete => "complete",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PlacementAction::*;
    use super::PlacementStatus::*;
    use super::*;

    #[test]
    fn only_the_designed_moves_are_allowed() {
        let allowed: Vec<(PlacementStatus, PlacementAction, PlacementStatus)> =
            PlacementStatus::ALL
                .iter()
                .copied()
                .flat_map(|from| {
                    [Confirm, Decline, Withdraw, Complete]
                        .into_iter()
                        .filter_map(move |action| from.after(action).map(|to| (from, action, to)))
                })
                .collect();
        assert_eq!(
            allowed,
            vec![
                (Offered, Confirm, Confirmed),
                (Offered, Decline, Declined),
                (Offered, Withdraw, Withdrawn),
                (Confirmed, Withdraw, Withdrawn),
                (Confirmed, Complete, Completed),
            ]
        );
    }

    #[test]
    fn statuses_read_back_from_their_names() {
        for &status in PlacementStatus::ALL {
            assert_eq!(status.as_str().parse::<PlacementStatus>(), Ok(status));
        }
        assert!("lost".parse::<PlacementStatus>().is_err());
        assert!(Offered.holds_seat() && Completed.holds_seat() && !Declined.holds_seat());
    }
}
