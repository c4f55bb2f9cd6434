//! State enums: the wire enums of `hadoop.yarn` and `spindle_types::states` map one to one.

use spindle_types::states::{
    ContainerState, FinalApplicationStatus, LogAggregationStatus, NodeState, YarnApplicationState,
};

use crate::yarn::{
    ContainerStateProto, FinalApplicationStatusProto, LogAggregationStatusProto, NodeStateProto,
    YarnApplicationStateProto,
};

/// Both `From` directions for a pair of enums with identical variant sets.
macro_rules! enum_pair {
    ($domain:ident <=> $proto:ident { $($domain_variant:ident <=> $proto_variant:ident),+ $(,)? }) => {
        impl From<$domain> for $proto {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$domain_variant => $proto::$proto_variant),+
                }
            }
        }

        impl From<$proto> for $domain {
            fn from(value: $proto) -> Self {
                match value {
                    $($proto::$proto_variant => $domain::$domain_variant),+
                }
            }
        }
    };
}

enum_pair!(YarnApplicationState <=> YarnApplicationStateProto {
    New <=> New,
    NewSaving <=> NewSaving,
    Submitted <=> Submitted,
    Accepted <=> Accepted,
    Running <=> Running,
    Finished <=> Finished,
    Failed <=> Failed,
    Killed <=> Killed,
});

enum_pair!(FinalApplicationStatus <=> FinalApplicationStatusProto {
    Undefined <=> AppUndefined,
    Succeeded <=> AppSucceeded,
    Failed <=> AppFailed,
    Killed <=> AppKilled,
    Ended <=> AppEnded,
});

enum_pair!(NodeState <=> NodeStateProto {
    New <=> NsNew,
    Running <=> NsRunning,
    Unhealthy <=> NsUnhealthy,
    Decommissioned <=> NsDecommissioned,
    Lost <=> NsLost,
    Rebooted <=> NsRebooted,
    Decommissioning <=> NsDecommissioning,
    Shutdown <=> NsShutdown,
});

enum_pair!(ContainerState <=> ContainerStateProto {
    New <=> CNew,
    Running <=> CRunning,
    Complete <=> CComplete,
});

enum_pair!(LogAggregationStatus <=> LogAggregationStatusProto {
    Disabled <=> LogDisabled,
    NotStart <=> LogNotStart,
    Running <=> LogRunning,
    Succeeded <=> LogSucceeded,
    Failed <=> LogFailed,
    TimeOut <=> LogTimeOut,
    RunningWithFailure <=> LogRunningWithFailure,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{require_enum, ConvertError};
    use crate::yarn::ApplicationReportProto;

    #[test]
    fn application_states_keep_their_wire_numbers() {
        for state in YarnApplicationState::ALL {
            let proto = YarnApplicationStateProto::from(state);
            assert_eq!(proto as i32, state as i32, "{state:?}");
            assert_eq!(proto.as_str_name(), state.name());
            assert_eq!(YarnApplicationState::from(proto), state);
        }
    }

    #[test]
    fn final_status_node_and_container_states_keep_their_wire_numbers() {
        for n in 0..=4 {
            let status = FinalApplicationStatus::from_wire(n).unwrap();
            let proto = FinalApplicationStatusProto::from(status);
            assert_eq!(proto as i32, n);
            assert_eq!(FinalApplicationStatus::from(proto), status);
        }
        for n in 1..=8 {
            let proto = NodeStateProto::try_from(n).unwrap();
            let state = NodeState::from(proto);
            assert_eq!(state as i32, n);
            assert_eq!(proto.as_str_name(), format!("NS_{}", state.name()));
            assert_eq!(NodeStateProto::from(state), proto);
        }
        for n in 1..=3 {
            let proto = ContainerStateProto::try_from(n).unwrap();
            assert_eq!(ContainerState::from(proto) as i32, n);
            assert_eq!(
                ContainerStateProto::from(ContainerState::from(proto)),
                proto
            );
        }
    }

    #[test]
    fn log_aggregation_statuses_keep_their_wire_numbers_and_names() {
        for status in LogAggregationStatus::ALL {
            let proto = LogAggregationStatusProto::from(status);
            assert_eq!(proto as i32, status as i32, "{status:?}");
            assert_eq!(proto.as_str_name(), format!("LOG_{}", status.name()));
            assert_eq!(LogAggregationStatus::from(proto), status);
            assert_eq!(LogAggregationStatus::from_wire(status as i32), Some(status));
        }
        assert_eq!(LogAggregationStatus::from_wire(0), None);
    }

    #[test]
    fn enum_fields_read_through_require_enum() {
        let mut report = ApplicationReportProto {
            yarn_application_state: Some(YarnApplicationStateProto::Accepted as i32),
            ..Default::default()
        };
        let state: YarnApplicationState = require_enum::<YarnApplicationStateProto>(
            report.yarn_application_state,
            "ApplicationReportProto",
            "yarn_application_state",
        )
        .unwrap()
        .into();
        assert_eq!(state, YarnApplicationState::Accepted);

        report.yarn_application_state = Some(42);
        assert_eq!(
            require_enum::<YarnApplicationStateProto>(
                report.yarn_application_state,
                "ApplicationReportProto",
                "yarn_application_state"
            ),
            Err(ConvertError::UnknownEnumValue {
                message: "ApplicationReportProto",
                field: "yarn_application_state",
                value: 42
            })
        );
        report.yarn_application_state = None;
        assert_eq!(
            require_enum::<YarnApplicationStateProto>(
                report.yarn_application_state,
                "ApplicationReportProto",
                "yarn_application_state"
            ),
            Err(ConvertError::MissingField {
                message: "ApplicationReportProto",
                field: "yarn_application_state"
            })
        );
    }
}
