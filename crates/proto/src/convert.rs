//! Conversions between the `hadoop.yarn` wire messages and Spindle's domain types (`spindle_types`).
//!
//! Writing is infallible (`From`); reading is `TryFrom` and fails with a [`ConvertError`] that names the
//! message and field at fault, never with a panic. Both owned values and references convert.
//!
//! | domain type                       | wire message / enum                     |
//! |-----------------------------------|-----------------------------------------|
//! | `ApplicationId`                   | `ApplicationIdProto`                    |
//! | `ApplicationAttemptId`            | `ApplicationAttemptIdProto`             |
//! | `ContainerId`                     | `ContainerIdProto` (fields 2 and 3)     |
//! | `NodeId`                          | `NodeIdProto`                           |
//! | `Resource`                        | `ResourceProto` (legacy fields + map)   |
//! | `states::YarnApplicationState`    | `YarnApplicationStateProto`             |
//! | `states::FinalApplicationStatus`  | `FinalApplicationStatusProto`           |
//! | `states::NodeState`               | `NodeStateProto`                        |
//! | `states::ContainerState`          | `ContainerStateProto`                   |
//! | `states::LogAggregationStatus`    | `LogAggregationStatusProto`             |
//!
//! prost keeps proto2 enum fields as `Option<i32>`; [`require_enum`] turns one into the proto enum
//! (then `.into()` gives the domain enum), and [`require`] unwraps a mandatory sub-message.

mod ids;
mod resource;
mod states;

pub use resource::{MEMORY_UNITS, VCORES_UNITS};

/// A wire message that cannot become a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A field the domain value needs was not on the wire.
    #[error("{message}.{field} is missing")]
    MissingField {
        message: &'static str,
        field: &'static str,
    },
    /// An enum field holds a number the enum does not define.
    #[error("{message}.{field} has unknown enum value {value}")]
    UnknownEnumValue {
        message: &'static str,
        field: &'static str,
        value: i32,
    },
    /// A field is present but its value is unusable.
    #[error("{message}.{field} is invalid: {reason}")]
    InvalidField {
        message: &'static str,
        field: &'static str,
        reason: String,
    },
}

/// The value of a mandatory optional field, or [`ConvertError::MissingField`] naming it.
///
/// ```
/// use spindle_proto::convert::require;
/// use spindle_proto::yarn::GetApplicationReportRequestProto;
/// use spindle_types::ApplicationId;
///
/// let request = GetApplicationReportRequestProto { application_id: None };
/// let error = require(&request.application_id, "GetApplicationReportRequestProto", "application_id")
///     .and_then(ApplicationId::try_from)
///     .unwrap_err();
/// assert_eq!(error.to_string(), "GetApplicationReportRequestProto.application_id is missing");
/// ```
pub fn require<'a, T>(
    value: &'a Option<T>,
    message: &'static str,
    field: &'static str,
) -> Result<&'a T, ConvertError> {
    value
        .as_ref()
        .ok_or(ConvertError::MissingField { message, field })
}

/// The proto enum held by a mandatory enum field (prost stores it as `Option<i32>`).
///
/// ```
/// use spindle_proto::convert::require_enum;
/// use spindle_proto::yarn::{FinishApplicationMasterRequestProto, FinalApplicationStatusProto};
/// use spindle_types::states::FinalApplicationStatus;
///
/// let request = FinishApplicationMasterRequestProto { final_application_status: Some(1), ..Default::default() };
/// let status: FinalApplicationStatus = require_enum::<FinalApplicationStatusProto>(
///     request.final_application_status,
///     "FinishApplicationMasterRequestProto",
///     "final_application_status",
/// )
/// .unwrap()
/// .into();
/// assert_eq!(status, FinalApplicationStatus::Succeeded);
/// ```
pub fn require_enum<E>(
    value: Option<i32>,
    message: &'static str,
    field: &'static str,
) -> Result<E, ConvertError>
where
    E: TryFrom<i32, Error = prost::UnknownEnumValue>,
{
    let raw = value.ok_or(ConvertError::MissingField { message, field })?;
    E::try_from(raw).map_err(|_| ConvertError::UnknownEnumValue {
        message,
        field,
        value: raw,
    })
}
