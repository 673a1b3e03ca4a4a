//! The named states of placemat's records, each stored as its name in a text column: the
//! enum and its names in one place, read and written as the enum by the database layer
//! (`db::sql_types::text_states!`), so no status or role is spelt out anywhere else.

/// Declares a state enum with its stored names: `as_str`, `ALL`, `Display`, `FromStr`,
/// serde and OpenAPI under the same names (each name is its variant in snake case, which a
/// test checks), and diesel's text column mapping.
#[macro_export]
macro_rules! named_states {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name stored and shown for the state.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(concat!("unknown ", stringify!($name), " `{}`"), other)),
                }
            }
        }

        $crate::db::sql_types::text_column!($name);
    };
}

named_states! {
    /// Where a direct application of the second round stands.
    pub enum DirectApplicationStatus {
        Pending => "pending",
        Accepted => "accepted",
        Rejected => "rejected",
    }
}

named_states! {
    /// Where an email of the outbox stands.
    pub enum EmailStatus {
        Pending => "pending",
        Sent => "sent",
        Failed => "failed",
    }
}

named_states! {
    /// A match run: `completed` when computed, `published` once its offers are made.
    pub enum RunStatus {
        Completed => "completed",
        Published => "published",
    }
}

named_states! {
    /// How a placement came about.
    pub enum PlacementSource {
        /// An offer of the published match run.
        Match => "match",
        /// A direct application of the second round, accepted.
        SecondRound => "second_round",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_name() {
        for status in DirectApplicationStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(*status));
        }
        for status in EmailStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(*status));
        }
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(*status));
        }
        for source in PlacementSource::ALL {
            assert_eq!(source.as_str().parse(), Ok(*source));
        }
        assert!("lost".parse::<EmailStatus>().is_err());
        let json = |value: serde_json::Value| value.as_str().map(str::to_owned);
        for status in DirectApplicationStatus::ALL {
            assert_eq!(
                json(serde_json::json!(status)).as_deref(),
                Some(status.as_str())
            );
        }
        for status in EmailStatus::ALL {
            assert_eq!(
                json(serde_json::json!(status)).as_deref(),
                Some(status.as_str())
            );
        }
        for status in RunStatus::ALL {
            assert_eq!(
                json(serde_json::json!(status)).as_deref(),
                Some(status.as_str())
            );
        }
        for status in crate::domain::PlacementStatus::ALL {
            assert_eq!(
                json(serde_json::json!(status)).as_deref(),
                Some(status.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&PlacementSource::SecondRound).ok(),
            Some("\"second_round\"".into())
        );
    }
}
